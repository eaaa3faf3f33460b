// The bench's peer, in its own process so it never competes with the connectors for a thread:
// accepts and closes on <dir>/close.sock and on TCP ports <base>..<base>+7 (TCP to one port is
// bound by the kernel's TIME_WAIT port search), and accepts and keeps on <dir>/hold.sock (for
// memory per open connection, until the client closes). One thread per listener. Linux (epoll).
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define TCP_PORTS 8

struct listener { int fd; };

static void *loop(void *arg) {
  struct listener *l = arg;
  for (;;) {
    int c = accept(l->fd, NULL, NULL);
    if (c >= 0) close(c);
  }
  return NULL;
}

// Keeps what it accepts until the client's end closes (readable with nothing to read).
static void *hold(void *arg) {
  struct listener *l = arg;
  int ep = epoll_create1(0);
  struct epoll_event ev = { .events = EPOLLIN, .data.fd = l->fd }, got[64];
  epoll_ctl(ep, EPOLL_CTL_ADD, l->fd, &ev);
  for (;;) {
    int n = epoll_wait(ep, got, 64, -1);
    for (int i = 0; i < n; i++) {
      int fd = got[i].data.fd;
      if (fd == l->fd) {
        int c = accept(l->fd, NULL, NULL);
        if (c < 0) continue;
        struct epoll_event cev = { .events = EPOLLIN | EPOLLRDHUP, .data.fd = c };
        epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
      } else {
        close(fd);  // the only event a silent client gives: its close
      }
    }
  }
  return NULL;
}

static int listen_unix(const char *dir, const char *name) {
  struct sockaddr_un su = { .sun_family = AF_UNIX };
  snprintf(su.sun_path, sizeof su.sun_path, "%s/%s", dir, name);
  unlink(su.sun_path);
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  if (bind(s, (struct sockaddr *)&su, sizeof su) || listen(s, 4096)) { perror(su.sun_path); exit(1); }
  return s;
}

static int listen_tcp(int port) {
  struct sockaddr_in si = { .sin_family = AF_INET, .sin_port = htons(port) };
  si.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(s, (struct sockaddr *)&si, sizeof si) || listen(s, 4096)) { perror("tcp"); exit(1); }
  return s;
}

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: acceptor <dir> <tcp-base-port>\n"); return 2; }
  static struct listener ls[TCP_PORTS + 2];
  ls[0] = (struct listener){ listen_unix(argv[1], "hold.sock") };
  ls[1] = (struct listener){ listen_unix(argv[1], "close.sock") };
  for (int i = 0; i < TCP_PORTS; i++) ls[2 + i] = (struct listener){ listen_tcp(atoi(argv[2]) + i) };
  pthread_t t;
  pthread_create(&t, NULL, hold, &ls[0]);
  for (int i = 1; i < TCP_PORTS + 2; i++) pthread_create(&t, NULL, loop, &ls[i]);
  printf("ready\n");
  fflush(stdout);
  pthread_join(t, NULL);
  return 0;
}
