/* A small FTB benchmark client of crftb's own, written against FTB 0.6.2's public header
 * (libftb.h) and linked with the libftb of the build FTB_HOME names (bench/ftb-real.mjs compiles
 * it; nothing of FTB is in this repository). The same binary runs against the real ftb_agent and
 * against crftb's agent, which speaks the same wire protocol.
 *   ftb-c-client sub <count> <timeout-s>   "ready", one latency (us) per line, then a JSON line
 *                                          { received, seconds from first to last event }
 *   ftb-c-client pub <rate/s, 0 = flood> <count>
 *   ftb-c-client hopsub <count> <timeout-s>  the floor: no FTB, one loopback TCP hop; prints
 *                                          "port N", then as sub
 *   ftb-c-client hoppub <port> <rate/s> <count>  8-byte stamps to hopsub, paced like pub
 *   ftb-c-client hoprelay <port>           the two-hop floor: prints "port N" and "ready", takes
 *                                          one connection (hoppub's) and copies what it reads to
 *                                          hopsub at <port>: what any agent's hop adds, at least
 * Payload bytes 0-7: CLOCK_MONOTONIC ns taken just before FTB_Publish (as the Node publisher
 * writes them), bytes 8-11: the sequence number. The agent is found the libftb way
 * (FTB_AGENT_PORT, FTB_BSTRAP_SERVER in the environment). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <libftb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double *latencies;
static volatile long received;
static long wanted;
static int64_t first_ns, last_ns;

/* Waits until event i of a run at `rate`/s is due: sleeps, then a spin for the last 2 ms. */
static void pace(int64_t started, double rate, long i) {
  if (!(rate > 0)) return;
  const int64_t due = started + (int64_t)(1e9 / rate * (double)i);
  while (now_ns() < due) {
    const int64_t left = due - now_ns();
    if (left > 2000000) usleep((useconds_t)(left / 1000 - 1000));
  }
}

/* Posted when the last wanted event arrives: the main thread sleeps on it, not polling, so no
 * wake-up of ours keeps the machine's idle CPUs warmer than the JS subscriber's (which waits on
 * a promise the same way). */
static sem_t all_received;

static void take(int64_t stamp) {
  const int64_t now = now_ns();
  if (received == 0) first_ns = now;
  last_ns = now;
  if (received < wanted) latencies[received] = (double)(now - stamp) / 1000.0;
  if (__atomic_add_fetch(&received, 1, __ATOMIC_SEQ_CST) == wanted) sem_post(&all_received);
}

/* Sleeps until every wanted event arrived or `timeout_s` passed. */
static void await_all(int timeout_s) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += timeout_s;
  while (sem_timedwait(&all_received, &deadline) != 0 && errno == EINTR) {
  }
}

static int on_event(FTB_receive_event_t *event, void *arg) {
  (void)arg;
  int64_t stamp;
  memcpy(&stamp, event->event_payload, sizeof(stamp));
  take(stamp);
  return 0;
}

static void report(long count) {
  const long got = received < count ? received : count;
  for (long i = 0; i < got; i++) printf("%.1f\n", latencies[i]);
  printf("{\"received\":%ld,\"seconds\":%f}\n", got, (double)(last_ns - first_ns) / 1e9);
}

static void connect_as(const char *space, const char *name, const char *style, FTB_client_handle_t *h) {
  FTB_client_t info;
  memset(&info, 0, sizeof(info));
  strncpy(info.event_space, space, sizeof(info.event_space) - 1);
  strncpy(info.client_name, name, sizeof(info.client_name) - 1);
  strncpy(info.client_subscription_style, style, sizeof(info.client_subscription_style) - 1);
  int rc = FTB_Connect(&info, h);
  if (rc != FTB_SUCCESS) {
    fprintf(stderr, "FTB_Connect failed: %d\n", rc);
    exit(2);
  }
}

static int subscribe(long count, int timeout_s) {
  FTB_client_handle_t h;
  FTB_subscribe_handle_t s;
  wanted = count;
  latencies = calloc((size_t)count, sizeof(double));
  connect_as("BENCH.PERF.CSUB", "csub", "FTB_SUBSCRIPTION_NOTIFY", &h);
  if (FTB_Subscribe(&s, h, "event_space=BENCH.PERF.PUB,event_name=BENCH_EV", on_event, NULL) != FTB_SUCCESS) {
    fprintf(stderr, "FTB_Subscribe failed\n");
    return 2;
  }
  printf("ready\n");
  fflush(stdout);
  await_all(timeout_s);
  report(count);
  fflush(stdout);
  /* Seen here: libftb 0.6.2's FTB_Disconnect, called the moment the last callback returned, joined
   * its callback thread while that thread waited on its condition variable with no deadline, and
   * hung. A moment for the thread to settle first. */
  usleep(20000);
  FTB_Disconnect(h);
  return 0;
}

static int publish(double rate, long count) {
  FTB_client_handle_t h;
  FTB_event_info_t declared;
  FTB_event_properties_t props;
  FTB_event_handle_t eh;
  memset(&declared, 0, sizeof(declared));
  strcpy(declared.event_name, "BENCH_EV");
  strcpy(declared.severity, "INFO");
  connect_as("BENCH.PERF.PUB", "cpub", "FTB_SUBSCRIPTION_NONE", &h);
  if (FTB_Declare_publishable_events(h, NULL, &declared, 1) != FTB_SUCCESS) return 2;
  usleep(300000);
  memset(&props, 0, sizeof(props));
  props.event_type = 1;
  const int64_t started = now_ns();
  for (long i = 0; i < count; i++) {
    pace(started, rate, i);
    const int64_t stamp = now_ns();
    const uint32_t seq = (uint32_t)i;
    memcpy(props.event_payload, &stamp, sizeof(stamp));
    memcpy(props.event_payload + 8, &seq, sizeof(seq));
    if (FTB_Publish(h, "BENCH_EV", &props, &eh) != FTB_SUCCESS) return 3;
  }
  const double seconds = (double)(now_ns() - started) / 1e9;
  usleep(200000);
  FTB_Disconnect(h);
  printf("{\"published\":%ld,\"seconds\":%f,\"rate\":%f}\n", count, seconds, (double)count / seconds);
  return 0;
}

/* A listener on an ephemeral loopback port, announced as "port N" and "ready"; -1 on failure. */
static int listen_loopback(const char *who) {
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (listener < 0 || bind(listener, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(listener, 1) != 0 ||
      getsockname(listener, (struct sockaddr *)&a, &len) != 0) {
    perror(who);
    return -1;
  }
  printf("port %d\nready\n", ntohs(a.sin_port));
  fflush(stdout);
  return listener;
}

/* A connection to loopback `port`, no Nagle delay; -1 on failure. */
static int connect_loopback(int port, const char *who) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons((uint16_t)port);
  const int one = 1;
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
    perror(who);
    return -1;
  }
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

/* The floor hop's receiving end: one connection on a loopback port of its own, blocking reads on
 * this thread (as libftb's own receive thread does), 8-byte stamps. */
static int hop_subscribe(long count, int timeout_s) {
  wanted = count;
  latencies = calloc((size_t)count, sizeof(double));
  const int listener = listen_loopback("hopsub: listen");
  if (listener < 0) return 2;
  struct timeval tv = {.tv_sec = timeout_s, .tv_usec = 0};
  setsockopt(listener, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  const int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  unsigned char buf[8 * 512];
  size_t used = 0;
  while (fd >= 0 && received < count) {
    const ssize_t got = read(fd, buf + used, sizeof(buf) - used);
    if (got <= 0) break;
    used += (size_t)got;
    size_t at = 0;
    for (; used - at >= 8; at += 8) {
      int64_t stamp;
      memcpy(&stamp, buf + at, sizeof(stamp));
      take(stamp);
    }
    memmove(buf, buf + at, used - at);
    used -= at;
  }
  report(count);
  if (fd >= 0) close(fd);
  close(listener);
  return 0;
}

static int hop_publish(int port, double rate, long count) {
  const int fd = connect_loopback(port, "hoppub: connect");
  if (fd < 0) return 2;
  const int64_t started = now_ns();
  for (long i = 0; i < count; i++) {
    pace(started, rate, i);
    const int64_t stamp = now_ns();
    if (write(fd, &stamp, sizeof(stamp)) != (ssize_t)sizeof(stamp)) return 3;
  }
  close(fd);
  return 0;
}

/* The two-hop floor's middle: a loopback listener of its own, one connection in, one out to the
 * hopsub at `port`; blocking reads, each written on at once (as an agent relays an event). */
static int hop_relay(int port) {
  const int out = connect_loopback(port, "hoprelay: connect");
  const int listener = out < 0 ? -1 : listen_loopback("hoprelay: listen");
  if (listener < 0) return 2;
  const int in = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
  unsigned char buf[8 * 512];
  for (ssize_t got; in >= 0 && (got = read(in, buf, sizeof(buf))) > 0;) {
    for (ssize_t sent = 0; sent < got;) {
      const ssize_t n = write(out, buf + sent, (size_t)(got - sent));
      if (n <= 0) return 3;
      sent += n;
    }
  }
  if (in >= 0) close(in);
  close(out);
  close(listener);
  return 0;
}

int main(int argc, char **argv) {
  sem_init(&all_received, 0, 0);
  if (argc == 4 && strcmp(argv[1], "sub") == 0) return subscribe(atol(argv[2]), atoi(argv[3]));
  if (argc == 4 && strcmp(argv[1], "pub") == 0) return publish(atof(argv[2]), atol(argv[3]));
  if (argc == 4 && strcmp(argv[1], "hopsub") == 0) return hop_subscribe(atol(argv[2]), atoi(argv[3]));
  if (argc == 5 && strcmp(argv[1], "hoppub") == 0) return hop_publish(atoi(argv[2]), atof(argv[3]), atol(argv[4]));
  if (argc == 3 && strcmp(argv[1], "hoprelay") == 0) return hop_relay(atoi(argv[2]));
  fprintf(stderr,
          "usage: %s sub <count> <timeout-s> | pub <rate> <count> | hopsub <count> <timeout-s> | hoppub <port> <rate> "
          "<count> | hoprelay <port>\n",
          argv[0]);
  return 64;
}
