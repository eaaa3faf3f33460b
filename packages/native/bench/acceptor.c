// The bench's peer: accepts and closes, on a unix path and a TCP port, one thread each, so the
// acceptor is never what limits the connectors being compared.
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void *loop(void *arg) {
  int l = *(int *)arg;
  for (;;) {
    int c = accept(l, NULL, NULL);
    if (c >= 0) close(c);
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: acceptor <unix-path> <tcp-port>\n"); return 2; }
  static int u, t;
  struct sockaddr_un su = { .sun_family = AF_UNIX };
  strncpy(su.sun_path, argv[1], sizeof su.sun_path - 1);
  unlink(argv[1]);
  u = socket(AF_UNIX, SOCK_STREAM, 0);
  if (bind(u, (struct sockaddr *)&su, sizeof su) || listen(u, 4096)) { perror("unix"); return 1; }
  struct sockaddr_in si = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[2])) };
  si.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  t = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(t, (struct sockaddr *)&si, sizeof si) || listen(t, 4096)) { perror("tcp"); return 1; }
  pthread_t a, b;
  pthread_create(&a, NULL, loop, &u);
  pthread_create(&b, NULL, loop, &t);
  printf("ready\n");
  fflush(stdout);
  pthread_join(a, NULL);
  return 0;
}
