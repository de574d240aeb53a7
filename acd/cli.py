"""The ``jono`` command line: ``serve``, ``check``, ``reload``, ``report`` and ``passwd``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


def _hostport(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def _iso_time(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO time like 2026-12-24T10:00+02:00, got {text!r}"
        ) from None
    if when.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r}: give the UTC offset, e.g. +02:00")
    return when


def _version() -> str:
    try:
        return version("jono")
    except PackageNotFoundError:
        return "unknown"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jono", description="Jono contact-centre server")
    parser.add_argument("--version", action="version", version=f"jono {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="run the server on a dial plan")
    serve.add_argument("config", help="dial plan YAML file")
    serve.add_argument("--listen", type=_hostport, metavar="HOST:PORT",
                       help="SIP address, UDP and TCP (default: the plan's server.listen)")
    serve.add_argument("--tls-listen", type=_hostport, metavar="HOST:PORT",
                       help="SIP over TLS address (default: the plan's server.tls.listen)")
    serve.add_argument("--http", type=_hostport, metavar="HOST:PORT",
                       help="web and API address (default: the plan's server.http)")
    serve.add_argument("--db", metavar="URL",
                       help="store URL (default: the plan's server.db, sqlite:///var/jono.db)")
    serve.add_argument("--log-format", choices=("console", "json"), default="console",
                       help="log lines for people (console) or for machines (json)")
    serve.add_argument("--log-level", default="INFO", metavar="LEVEL",
                       help="DEBUG, INFO (default), WARNING or ERROR")
    serve.add_argument("--pid-file", default="var/jono.pid", metavar="FILE",
                       help="where to write the process id (for kill -HUP)")
    serve.add_argument("--schedule-time", type=_iso_time, metavar="ISO",
                       help="evaluate schedules at this fixed time, e.g. 2026-12-24T10:00+02:00 "
                       "(try a plan's opening hours, holidays and DST switches)")
    check = sub.add_parser("check", help="validate a dial plan and report every error")
    check.add_argument("config", help="dial plan YAML file")
    check.add_argument("--allow-empty", action="store_true",
                       help="accept a plan with no users and no numbers")
    reload = sub.add_parser(
        "reload", help="make the running server re-read its dial plan; errors if it refuses"
    )
    reload.add_argument("config", nargs="?", metavar="CONFIG",
                        help="the plan the server runs (finds it by its SIP address)")
    reload.add_argument("--listen", type=_hostport, metavar="HOST:PORT",
                        help="the server's SIP address (when several run)")
    reload.add_argument("--force", action="store_true",
                        help="take a plan that removes most users or numbers (on purpose)")
    passwd = sub.add_parser("passwd", help="set a user's web password (asked twice)")
    passwd.add_argument("config", help="dial plan YAML file (its users and server.db)")
    passwd.add_argument("user")
    passwd.add_argument("--db", help="store URL (default: the plan's server.db)")
    passwd.add_argument("--stdin", action="store_true",
                        help="read the password from the first line of standard input")
    sub.add_parser("report", add_help=False,
                   help="per-queue and per-agent figures from the store (jono report --help)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["report"]:
        from acd.report import main as report_main

        return report_main(argv[1:])
    args = _parser().parse_args(argv)
    if args.command == "check":
        from acd.config import check_main

        return check_main([args.config, *(["--allow-empty"] if args.allow_empty else [])])
    if args.command == "reload":
        return _reload(args.config, args.listen, args.force)
    if args.command == "passwd":
        return _passwd(args)
    return _serve(args)


def _reload(config: str | None, listen: tuple[str, int] | None, force: bool = False) -> int:
    """Ask the running server to reload through its control socket; print
    what it says, exit 1 when the new plan was refused."""
    from acd import control

    path = _control_socket(config, listen)
    if path is None:
        return 1
    try:
        answer = control.request_reload(path, force=force)
    except (OSError, ValueError) as err:
        print(f"jono reload: no answer from {path}: {err}", file=sys.stderr)
        return 1
    errors = answer.get("errors") or []
    if answer.get("ok"):
        print("jono reload: the server runs the new plan")
        return 0
    print("jono reload: the server refused the new plan and keeps the running one:",
          file=sys.stderr)
    for line in errors if isinstance(errors, list) else [errors]:
        print(f"  {line}", file=sys.stderr)
    return 1


def _control_socket(config: str | None, listen: tuple[str, int] | None) -> Path | None:
    from acd import control

    if listen is None and config is not None:
        from acd.config import ConfigError, load

        try:
            plan = load(config)
        except ConfigError as err:
            print(str(err), file=sys.stderr)
            print("jono reload: the file has errors; the server keeps its plan", file=sys.stderr)
            return None
        listen = (plan.server.listen_host, plan.server.listen_port)
    if listen is not None:
        path = control.socket_path(*listen)
        if not path.exists():
            print(f"jono reload: no server listening on {listen[0]}:{listen[1]} ({path})",
                  file=sys.stderr)
            return None
        return path
    found = control.running_servers()
    if len(found) == 1:
        return found[0]
    if not found:
        print(f"jono reload: no running server found ({control.runtime_dir()})", file=sys.stderr)
    else:
        names = ", ".join(p.stem for p in found)
        print(f"jono reload: several servers run ({names}); name one with --listen HOST:PORT",
              file=sys.stderr)
    return None


def _passwd(args: argparse.Namespace) -> int:
    """Store a web password hash for a user of the plan (sessions end at their next request
    only on this machine's store; a running Jono keeps its own sessions until they expire)."""
    from sqlalchemy.orm import sessionmaker

    from acd.config import ConfigError, load
    from acd.store import make_engine
    from acd.store.accounts import SqlAccounts
    from acd.web.auth import passwd_command

    try:
        plan = load(args.config)
    except ConfigError as err:
        print(str(err), file=sys.stderr)
        return 2
    engine = make_engine(args.db or plan.server.db)
    try:
        accounts = SqlAccounts(sessionmaker(engine, expire_on_commit=False))
        if args.user in plan.users and not plan.users[args.user].roles:
            print(f"jono passwd: note: {args.user} has no web roles (roles: []) and cannot "
                  "sign in until the plan gives them some", file=sys.stderr)
        return passwd_command(accounts, args.user, from_stdin=args.stdin,
                              known_users=set(plan.users))
    finally:
        engine.dispose()


def _serve(args: argparse.Namespace) -> int:
    from acd import logs
    from acd.bootstrap import CannotListen, Settings, serve
    from acd.config import ConfigError, ConfigIssue, load

    logs.configure(args.log_format, args.log_level)
    warnings: list[ConfigIssue] = []
    try:
        dialplan = load(args.config, warnings=warnings)
    except ConfigError as err:
        print(str(err), file=sys.stderr)
        return 1
    for warning in warnings:
        logging.getLogger("jono.server").warning("dial plan warning: %s", warning)
    server = dialplan.server
    host, port = args.listen or (server.listen_host, server.listen_port)
    settings = Settings(
        host=host,
        port=port,
        db=args.db or server.db,
        realm=server.realm,
        public_host=server.public_host,
        rtp_ports=server.rtp_port_range,
        http=args.http,
        tls=args.tls_listen,
        schedule_time=args.schedule_time,
    )
    run = asyncio.run
    try:
        import uvloop

        run = uvloop.run
    except ImportError:
        pass
    try:
        run(serve(dialplan, settings, config_path=args.config, pid_file=args.pid_file))
    except KeyboardInterrupt:
        pass
    except CannotListen as err:
        print(f"jono: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
