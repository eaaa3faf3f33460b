// The kernel's limit: blocking socket + connect + close, sequentially, N times. Prints connects/s.
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 4) { fprintf(stderr, "usage: connect_loop unix|tcp <path|port> <count>\n"); return 2; }
  int tcp = strcmp(argv[1], "tcp") == 0, n = atoi(argv[3]);
  struct sockaddr_un su = { .sun_family = AF_UNIX };
  struct sockaddr_in si = { .sin_family = AF_INET };
  if (tcp) { si.sin_port = htons(atoi(argv[2])); si.sin_addr.s_addr = htonl(INADDR_LOOPBACK); }
  else strncpy(su.sun_path, argv[2], sizeof su.sun_path - 1);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < n; i++) {
    int s = socket(tcp ? AF_INET : AF_UNIX, SOCK_STREAM, 0);
    if (connect(s, tcp ? (struct sockaddr *)&si : (struct sockaddr *)&su, tcp ? sizeof si : sizeof su)) { perror("connect"); return 1; }
    close(s);
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%.0f\n", n / ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9));
  return 0;
}
