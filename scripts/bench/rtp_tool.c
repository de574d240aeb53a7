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

int main(int argc, char **argv) {
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
