/* rtp_tool: external RTP phones for scripts/bench/rtp_relay.py.
 *
 * Opens 2*N UDP sockets on 127.0.0.1 (phone A and phone B of each call), prints
 * "PORTS p0 p1 ..." and reads "LEGS l0 l1 ..." (the engine port each phone talks to).
 * Then every phone sends 50 packets/s (PCMU-sized, 172 bytes) for DURATION seconds,
 * staggered across the 20 ms period like independent phones, and receives what the
 * engine relays from its peer. Latency: the relay keeps the sender's sequence gaps
 * (out_seq = in_seq + offset), so the first packet fixes the offset and each later
 * packet is matched to the send time of the packet it relays.
 * Prints "RESULT sent=.. received=.. lost=.. p50_us=.. p99_us=.. max_us=..".
 *
 * Phone A of each call sends PCMU (PT 0); phone B sends PT_OF_B_PHONES (default 0).
 *
 * Sink mode (scripts/bench/playback.py): "rtp_tool sink SECONDS" binds one socket,
 * prints "PORT p", and receives the RTP of many streams (told apart by source port)
 * for SECONDS after the first packet. Lateness of a packet: its arrival minus 20 ms
 * times its (extended) sequence number, minus the smallest such offset of its stream:
 * how much later than the stream's best pace it arrived. Prints
 * "RESULT received=.. streams=.. late_p50_us=.. late_p99_us=.. late_max_us=..
 *  gaps=.." (gaps: sequence jumps, i.e. frames never sent or lost).
 * Build: gcc -O2 -o rtp_tool rtp_tool.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int sink(double seconds) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int buf = 1 << 24;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) { perror("bind"); return 1; }
    socklen_t alen = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &alen);
    printf("PORT %d\n", ntohs(a.sin_port));
    fflush(stdout);
    size_t cap = 1 << 24, n = 0;
    int64_t *offset = malloc(cap * sizeof(int64_t));
    uint16_t *stream_of = malloc(cap * sizeof(uint16_t));
    static int index_of[65536];
    static uint16_t last_seq[65536];
    static int64_t ext_seq[65536], best[65536];
    memset(index_of, -1, sizeof index_of);
    int streams = 0;
    long gaps = 0, received = 0;
    unsigned char rbuf[2048];
    int64_t end = 0;
    struct timeval tv = {.tv_sec = 0, .tv_usec = 200000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    for (;;) {
        struct sockaddr_in from;
        socklen_t flen = sizeof from;
        ssize_t r = recvfrom(fd, rbuf, sizeof rbuf, 0, (struct sockaddr *)&from, &flen);
        int64_t t = now_ns();
        if (end && t >= end) break;
        if (r < 12 || (rbuf[1] >= 192 && rbuf[1] <= 223)) continue; /* timeout or RTCP */
        if (!end) end = t + (int64_t)(seconds * 1e9);
        int port = ntohs(from.sin_port);
        uint16_t seq = (uint16_t)((rbuf[2] << 8) | rbuf[3]);
        if (index_of[port] < 0) {
            index_of[port] = streams++;
            ext_seq[port] = 0;
            best[port] = INT64_MAX;
        } else {
            uint16_t step = (uint16_t)(seq - last_seq[port]);
            if (step >= 32768) continue; /* reordered or duplicate */
            if (step > 1) gaps += step - 1;
            ext_seq[port] += step;
        }
        last_seq[port] = seq;
        received++;
        int64_t off = t - ext_seq[port] * 20000000LL;
        if (off < best[port]) best[port] = off;
        if (n < cap) { offset[n] = off; stream_of[n] = (uint16_t)port; n++; }
    }
    for (size_t i = 0; i < n; i++) offset[i] -= best[stream_of[i]];
    qsort(offset, n, sizeof(int64_t), cmp_i64);
    printf("RESULT received=%ld streams=%d late_p50_us=%ld late_p99_us=%ld late_max_us=%ld gaps=%ld\n",
           received, streams, (long)(n ? offset[n / 2] / 1000 : -1),
           (long)(n ? offset[(size_t)(n * 0.99)] / 1000 : -1), (long)(n ? offset[n - 1] / 1000 : -1),
           gaps);
    fflush(stdout);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "sink") == 0) return sink(atof(argv[2]));
    if (argc < 3) {
        fprintf(stderr, "usage: %s NCALLS DURATION_S [PT_OF_B_PHONES]\n", argv[0]);
        return 2;
    }
    int ncalls = atoi(argv[1]);
    double duration = atof(argv[2]);
    int b_pt = argc > 3 ? atoi(argv[3]) : 0; /* payload type phone B of each call sends */
    int nphones = 2 * ncalls;
    int packets = (int)(duration * 50);
    int *fds = calloc(nphones, sizeof(int));
    struct sockaddr_in *dst = calloc(nphones, sizeof(struct sockaddr_in));
    int64_t *sent_at = calloc((size_t)nphones * packets, sizeof(int64_t));
    int *received = calloc(nphones, sizeof(int));
    int *have_offset = calloc(nphones, sizeof(int));
    uint16_t *offset = calloc(nphones, sizeof(uint16_t));
    size_t lat_cap = (size_t)nphones * packets + 16, lat_n = 0;
    int64_t *lat = calloc(lat_cap, sizeof(int64_t));
    int ep = epoll_create1(0);

    printf("PORTS");
    for (int i = 0; i < nphones; i++) {
        fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        int buf = 1 << 20;
        setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
        if (bind(fds[i], (struct sockaddr *)&a, sizeof a) < 0) { perror("bind"); return 1; }
        socklen_t len = sizeof a;
        getsockname(fds[i], (struct sockaddr *)&a, &len);
        printf(" %d", ntohs(a.sin_port));
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    }
    printf("\n");
    fflush(stdout);

    char word[32];
    if (scanf("%31s", word) != 1 || strcmp(word, "LEGS") != 0) { fprintf(stderr, "no LEGS\n"); return 1; }
    for (int i = 0; i < nphones; i++) {
        int port;
        if (scanf("%d", &port) != 1) { fprintf(stderr, "short LEGS\n"); return 1; }
        dst[i].sin_family = AF_INET;
        dst[i].sin_port = htons((uint16_t)port);
        inet_pton(AF_INET, "127.0.0.1", &dst[i].sin_addr);
    }

    unsigned char pkt[172];
    memset(pkt, 0xFF, sizeof pkt);
    pkt[0] = 0x80;
    pkt[1] = 0; /* PCMU */
    const int64_t period = 20000000LL;
    int64_t start = now_ns() + 50000000LL;
    int64_t end = start + (int64_t)packets * period + 500000000LL; /* drain 0.5 s */
    long total_sent = 0;
    int next_k = 0, next_i = 0; /* next packet index and phone to send */
    struct epoll_event events[256];
    unsigned char rbuf[2048];

    for (;;) {
        int64_t t = now_ns();
        /* send everything that is due (phone i sends packet k at start + k*P + i*P/n) */
        while (next_k < packets) {
            int64_t due = start + (int64_t)next_k * period + (int64_t)next_i * period / nphones;
            if (due > t) break;
            uint16_t seq = (uint16_t)(next_k + 1000 * next_i);
            uint32_t ts = (uint32_t)next_k * 160u;
            uint32_t ssrc = 0x1000 + (uint32_t)next_i;
            pkt[1] = (unsigned char)((next_i & 1) ? b_pt : 0);
            pkt[2] = seq >> 8; pkt[3] = seq & 0xFF;
            pkt[4] = ts >> 24; pkt[5] = ts >> 16; pkt[6] = ts >> 8; pkt[7] = ts;
            pkt[8] = ssrc >> 24; pkt[9] = ssrc >> 16; pkt[10] = ssrc >> 8; pkt[11] = ssrc;
            sent_at[(size_t)next_i * packets + next_k] = now_ns();
            if (sendto(fds[next_i], pkt, sizeof pkt, 0, (struct sockaddr *)&dst[next_i],
                       sizeof dst[next_i]) == (ssize_t)sizeof pkt)
                total_sent++;
            if (++next_i == nphones) { next_i = 0; next_k++; }
        }
        t = now_ns();
        if (t >= end) break;
        int64_t wait_ns = next_k < packets
            ? start + (int64_t)next_k * period + (int64_t)next_i * period / nphones - t
            : end - t;
        int timeout_ms = wait_ns > 0 ? (int)(wait_ns / 1000000) : 0;
        int n = epoll_wait(ep, events, 256, timeout_ms);
        for (int e = 0; e < n; e++) {
            int i = (int)events[e].data.u32;
            for (;;) {
                ssize_t r = recv(fds[i], rbuf, sizeof rbuf, 0);
                if (r < 0) break;
                if (r < 12 || (rbuf[1] >= 192 && rbuf[1] <= 223)) continue; /* RTCP */
                int64_t arrival = now_ns();
                uint16_t seq = (uint16_t)((rbuf[2] << 8) | rbuf[3]);
                int peer = i ^ 1; /* phones 2c and 2c+1 form call c */
                if (!have_offset[i]) { have_offset[i] = 1; offset[i] = (uint16_t)(seq - 1000 * peer); }
                int k = (uint16_t)(seq - offset[i] - 1000 * peer);
                received[i]++;
                if (k >= 0 && k < packets) {
                    int64_t s = sent_at[(size_t)peer * packets + k];
                    if (s && lat_n < lat_cap) lat[lat_n++] = arrival - s;
                    if (getenv("RTP_TOOL_DEBUG") && arrival - s > 5000000) fprintf(stderr, "slow phone=%d k=%d us=%ld\n", i, k, (long)((arrival - s) / 1000));
                }
            }
        }
    }
    long total_received = 0;
    for (int i = 0; i < nphones; i++) total_received += received[i];
    qsort(lat, lat_n, sizeof(int64_t), cmp_i64);
    int64_t p50 = lat_n ? lat[lat_n / 2] : -1;
    int64_t p99 = lat_n ? lat[(size_t)(lat_n * 0.99)] : -1;
    int64_t mx = lat_n ? lat[lat_n - 1] : -1;
    printf("RESULT sent=%ld received=%ld lost=%ld p50_us=%ld p99_us=%ld max_us=%ld\n",
           total_sent, total_received, total_sent - total_received, (long)(p50 / 1000),
           (long)(p99 / 1000), (long)(mx / 1000));
    fflush(stdout);
    return 0;
}
