// The kernel's limit: blocking socket + connect + close, sequentially, N times, to a unix path
// or round-robin over TCP ports <base>..<base>+7. Prints connects/s, then p50 and p99 in us.
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define TCP_PORTS 8

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: connect_loop unix|tcp <path|base-port> <count>\n"); return 2; }
  int tcp = strcmp(argv[1], "tcp") == 0, n = atoi(argv[3]);
  double *lat = malloc(sizeof(double) * n);
  struct sockaddr_un su = { .sun_family = AF_UNIX };
  struct sockaddr_in si = { .sin_family = AF_INET };
  si.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (!tcp) strncpy(su.sun_path, argv[2], sizeof su.sun_path - 1);
  double start = now();
  for (int i = 0; i < n; i++) {
    double t = now();
    si.sin_port = htons(atoi(argv[2]) + i % TCP_PORTS);
    int s = socket(tcp ? AF_INET : AF_UNIX, SOCK_STREAM, 0);
    if (connect(s, tcp ? (struct sockaddr *)&si : (struct sockaddr *)&su, tcp ? sizeof si : sizeof su)) { perror("connect"); return 1; }
    close(s);
    lat[i] = now() - t;
  }
  double rate = n / (now() - start);
  qsort(lat, n, sizeof(double), cmp);
  printf("%.0f %.1f %.1f\n", rate, lat[n / 2] * 1e6, lat[n * 99 / 100] * 1e6);
  return 0;
}
