/*
 * nexcage-ct-init: carries a Proxmox CT's process to containerd's runc shim (docs/backends/proxmox-lxc.md,
 * "containerd"). One static binary, four roles:
 *
 *   proxy [-n TYPE=PATH]... SOCKET [CONSOLE_SOCKET]
 *                                   on the host, started by `nexcage create`, left behind for the shim to
 *                                   reap: opens each namespace PATH (TYPE net, ipc or uts) at once, hands
 *                                   its fds 0-2 (or a new pty's slave, the master going to
 *                                   CONSOLE_SOCKET) and those namespaces to the CT's init over SOCKET,
 *                                   then exits with the status the init reports (128+n for death by
 *                                   signal n; 137 when the CT went without reporting, i.e. it was
 *                                   SIGKILLed).
 *   init [-u UID GID GROUPS] SOCKET ARG...
 *                                   the CT's init (lxc.init.cmd): takes those fds as the process's stdio,
 *                                   joins the namespaces it was given (setns: a pod's network, the
 *                                   host's IPC), runs ARG... as its only child (as UID/GID/GROUPS: this
 *                                   init stays root to join), forwards signals to it, reaps orphans,
 *                                   reports the child's wait status over SOCKET and exits.
 *   pty CONSOLE_SOCKET PROG ARG...  on the host, for `exec -t`: a new pty, the master to CONSOLE_SOCKET,
 *                                   the slave as stdio and controlling terminal, then exec PROG.
 *   exec UID GID GROUPS CWD ARG...  in the CT under `pct exec`: the exec'd process's environment, user
 *                                   and cwd, then ARG... in its place.
 *
 * Static, so that it runs inside any rootfs; no shell anywhere. A fd 3 given to `proxy` is written
 * "ok\n" once SOCKET listens, then closed (nexcage waits for that before it returns from create).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

static void die(const char *what) {
  dprintf(2, "nexcage-ct-init: %s: %s\n", what, strerror(errno));
  _exit(255);
}

static int unix_addr(struct sockaddr_un *a, const char *path) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  if (strlen(path) >= sizeof a->sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  strcpy(a->sun_path, path);
  return 0;
}

/* stdio and at most this many namespaces cross the socket */
#define MAX_NS 3
#define MAX_FDS (3 + MAX_NS)

/* sends `n` fds and a payload (as runc sends a pty master: the payload is a name; to the init: the
 * stdio kind, then one letter per namespace fd after the three stdio ones) */
static int send_fds(int sock, const int *fds, int n, const char *payload) {
  char cbuf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
  memset(cbuf, 0, sizeof cbuf);
  struct iovec iov = {.iov_base = (void *)payload, .iov_len = strlen(payload)};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = CMSG_SPACE(sizeof(int) * n)};
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int) * n);
  memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
  return sendmsg(sock, &m, 0) < 0 ? -1 : 0;
}

static int connect_to(const char *path) {
  struct sockaddr_un a;
  if (unix_addr(&a, path) < 0) return -1;
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
    close(s);
    return -1;
  }
  return s;
}

/* a new pty: the master goes to the console socket (closed here), the slave is returned */
static int pty_to_console(const char *console) {
  int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) die("pty");
  char *name = ptsname(master);
  if (name == NULL) die("ptsname");
  int slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) die(name);
  int s = connect_to(console);
  if (s < 0) die(console);
  if (send_fds(s, &master, 1, name) < 0) die("send to console socket");
  close(s);
  close(master);
  return slave;
}

/* the shell's convention, which the shim passes on: 128+n for death by signal n */
static int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

/* a namespace type's letter on the socket and its clone flag */
static int ns_flag(char letter) {
  return letter == 'n' ? CLONE_NEWNET : letter == 'i' ? CLONE_NEWIPC : letter == 'u' ? CLONE_NEWUTS : 0;
}

static int proxy(char **argv, int argc) {
  /* checked before anything here opens a descriptor that could take the number 3 */
  int ready = fcntl(3, F_GETFD) >= 0 ? 3 : -1;
  int fds[MAX_FDS] = {0, 1, 2};
  char kind[2 + MAX_NS] = "p";
  int n = 3;
  /* the namespaces are opened now, at create: a path that is not there fails the create */
  while (argc >= 2 && strcmp(argv[0], "-n") == 0) {
    const char *type = argv[1];
    char letter = strncmp(type, "net=", 4) == 0 ? 'n' : strncmp(type, "ipc=", 4) == 0 ? 'i' : strncmp(type, "uts=", 4) == 0 ? 'u' : 0;
    if (letter == 0 || n == MAX_FDS) {
      errno = EINVAL;
      die(type);
    }
    int fd = open(type + 4, O_RDONLY | O_CLOEXEC);
    if (fd < 0) die(type + 4);
    kind[n - 2] = letter;
    fds[n++] = fd;
    argv += 2;
    argc -= 2;
  }
  if (argc < 1) {
    errno = EINVAL;
    die("proxy: no socket");
  }
  const char *path = argv[0];
  const char *console = argc >= 2 ? argv[1] : NULL;
  /* only the CT's process ends this one (and SIGKILL): not the terminal, the shim's group, a broken pipe */
  for (int s = 1; s < NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP && s != SIGCHLD && s != SIGCONT && s != SIGSEGV && s != SIGBUS && s != SIGFPE && s != SIGILL) signal(s, SIG_IGN);
  if (console != NULL) {
    int slave = pty_to_console(console);
    fds[0] = fds[1] = fds[2] = slave;
    kind[0] = 't';
  }
  /* bound under a temporary name and renamed once listening: whoever sees SOCKET can connect */
  char tmp[sizeof(((struct sockaddr_un *)0)->sun_path)];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
    errno = ENAMETOOLONG;
    die(path);
  }
  struct sockaddr_un a;
  if (unix_addr(&a, tmp) < 0) die(tmp);
  int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (l < 0) die("socket");
  unlink(tmp);
  if (bind(l, (struct sockaddr *)&a, sizeof a) < 0) die(tmp);
  if (listen(l, 1) < 0) die("listen");
  if (rename(tmp, path) < 0) die(path);
  if (ready >= 0) {
    (void)!write(ready, "ok\n", 3);
    close(ready);
  }
  int c;
  while ((c = accept4(l, NULL, NULL, SOCK_CLOEXEC)) < 0)
    if (errno != EINTR) die("accept");
  close(l);
  unlink(path);
  if (send_fds(c, fds, n, kind) < 0) die("send stdio");
  /* the CT's process holds them now: EOF reaches the shim when it (and what it started) closes them */
  int devnull = open("/dev/null", O_RDWR);
  for (int i = 3; i < n; i++) close(fds[i]);
  for (int i = 0; i < 3; i++) {
    if (fds[i] > 2) close(fds[i]);
    if (devnull >= 0) dup2(devnull, i);
  }
  char buf[64];
  size_t got = 0;
  for (;;) {
    ssize_t r = read(c, buf + got, sizeof buf - 1 - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
    if (memchr(buf, '\n', got) || got == sizeof buf - 1) break;
  }
  buf[got] = 0;
  int status;
  if (sscanf(buf, "status %d", &status) == 1) return exit_code(status);
  return 128 + SIGKILL; /* the CT went without a word: its init was SIGKILLed (pct stop, kill --all) */
}

/* whether the supplementary groups are already `want` (as sets) */
static int same_groups(const gid_t *want, size_t n) {
  gid_t have[256];
  int h = getgroups(256, have);
  if (h < 0) return 0;
  for (size_t i = 0; i < n; i++) {
    int found = 0;
    for (int j = 0; j < h; j++) found |= have[j] == want[i];
    if (!found) return 0;
  }
  for (int j = 0; j < h; j++) {
    int found = 0;
    for (size_t i = 0; i < n; i++) found |= have[j] == want[i];
    if (!found) return 0;
  }
  return 1;
}

/* the user a process runs as, from the command line: "UID" "GID" "G1,G2,..." (no groups: "" or "-") */
struct user {
  uid_t uid;
  gid_t gid;
  gid_t groups[256];
  size_t ngroups;
};

static void parse_user(char **argv, struct user *u) {
  u->uid = (uid_t)strtoul(argv[0], NULL, 10);
  u->gid = (gid_t)strtoul(argv[1], NULL, 10);
  u->ngroups = 0;
  for (char *g = argv[2]; *g != 0 && strcmp(g, "-") != 0 && u->ngroups < 256;) {
    u->groups[u->ngroups++] = (gid_t)strtoul(g, &g, 10);
    if (*g == ',') g++;
    else break;
  }
}

/* lxc-attach keeps only the CT's capabilities (lxc.cap.keep): change only what differs, so that
 * a CT without CAP_SETUID/CAP_SETGID can still run a process as the user it already is */
static void become(const struct user *u) {
  if (!same_groups(u->groups, u->ngroups) && setgroups(u->ngroups, u->groups) < 0) die("setgroups");
  if (getgid() != u->gid && setgid(u->gid) < 0) die("setgid");
  if (getuid() != u->uid && setuid(u->uid) < 0) die("setuid");
}

static volatile sig_atomic_t child_pid;

static void forward(int sig) {
  if (child_pid > 0) kill(child_pid, sig);
}

static int init(const char *path, char **argv, const struct user *as) {
  int s = connect_to(path);
  if (s < 0) die(path);
  char payload[2 + MAX_NS] = {0};
  char cbuf[CMSG_SPACE(sizeof(int) * MAX_FDS)];
  struct iovec iov = {.iov_base = payload, .iov_len = sizeof payload - 1};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
  ssize_t r;
  while ((r = recvmsg(s, &m, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
  }
  struct cmsghdr *c = r > 0 ? CMSG_FIRSTHDR(&m) : NULL;
  int n = c != NULL && c->cmsg_type == SCM_RIGHTS ? (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int)) : 0;
  if (n < 3 || n > MAX_FDS || (int)r != n - 2) {
    errno = EPROTO;
    die("receiving stdio");
  }
  char kind = payload[0];
  int fds[MAX_FDS];
  memcpy(fds, CMSG_DATA(c), sizeof(int) * (size_t)n);
  for (int i = 0; i < 3; i++)
    if (dup2(fds[i], i) < 0) die("dup2");
  for (int i = 0; i < 3; i++)
    if (fds[i] > 2) close(fds[i]);
  /* the pod's namespaces, for this init (so pct exec lands there too) and the process it forks; a
   * failure is the container's exit 255, told to the proxy, with the reason on its stderr */
  for (int i = 3; i < n; i++) {
    if (setns(fds[i], ns_flag(payload[i - 2])) < 0) {
      dprintf(2, "nexcage-ct-init: joining the pod's %s namespace: %s\n", payload[i - 2] == 'n' ? "network" : payload[i - 2] == 'i' ? "ipc" : "uts", strerror(errno));
      dprintf(s, "status %d\n", 255 << 8);
      return 255;
    }
    close(fds[i]);
  }

  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, &old);
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (kind == 't') {
      setsid();
      if (ioctl(0, TIOCSCTTY, 0) < 0) die("controlling terminal");
    }
    /* the process's user, when this init had to stay root to join the pod's namespaces */
    if (as != NULL) become(as);
    execvp(argv[0], argv);
    dprintf(2, "nexcage-ct-init: exec %s: %s\n", argv[0], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
  child_pid = pid;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = forward;
  sigfillset(&sa.sa_mask);
  for (int sig = 1; sig < NSIG; sig++)
    if (sig != SIGKILL && sig != SIGSTOP && sig != SIGCHLD) sigaction(sig, &sa, NULL);
  sigprocmask(SIG_SETMASK, &old, NULL);
  for (;;) {
    int status;
    pid_t w = waitpid(-1, &status, 0);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) die("waitpid");
    if (w != pid) continue; /* an orphan reparented to this init */
    dprintf(s, "status %d\n", status);
    return exit_code(status);
  }
}

/* `exec UID GID GROUPS CWD ARG...` under `pct exec` (as the CT's root): the exec'd process's
 * environment (NEXCAGE_EXEC_ENV_0.. only; nothing of pct's), groups (comma list or empty), gid, uid
 * and cwd, then ARG... in its place. */
static int exec_as(char **argv) {
  static struct user u;
  parse_user(argv, &u);
  static char *env[4097];
  size_t n = 0;
  for (; n < 4096; n++) {
    char key[32];
    snprintf(key, sizeof key, "NEXCAGE_EXEC_ENV_%zu", n);
    const char *v = getenv(key);
    if (v == NULL) break;
    env[n] = strdup(v);
  }
  clearenv();
  for (size_t i = 0; i < n; i++) putenv(env[i]);
  become(&u);
  if (chdir(argv[3]) < 0) die(argv[3]);
  char **args = argv + 4;
  execvp(args[0], args);
  dprintf(2, "nexcage-ct-init: exec %s: %s\n", args[0], strerror(errno));
  return errno == ENOENT ? 127 : 126;
}

static int pty_exec(const char *console, char **argv) {
  int slave = pty_to_console(console);
  if (setsid() < 0) die("setsid");
  if (ioctl(slave, TIOCSCTTY, 0) < 0) die("controlling terminal");
  for (int i = 0; i < 3; i++)
    if (dup2(slave, i) < 0) die("dup2");
  if (slave > 2) close(slave);
  execv(argv[0], argv);
  die(argv[0]);
  return 255;
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "proxy") == 0) return proxy(argv + 2, argc - 2);
  static struct user as;
  if (argc >= 8 && strcmp(argv[1], "init") == 0 && strcmp(argv[2], "-u") == 0) {
    parse_user(argv + 3, &as);
    return init(argv[6], argv + 7, &as);
  }
  if (argc >= 4 && strcmp(argv[1], "init") == 0) return init(argv[2], argv + 3, NULL);
  if (argc >= 4 && strcmp(argv[1], "pty") == 0) return pty_exec(argv[2], argv + 3);
  if (argc >= 7 && strcmp(argv[1], "exec") == 0) return exec_as(argv + 2);
  dprintf(2, "usage: nexcage-ct-init proxy [-n net|ipc|uts=PATH]... SOCKET [CONSOLE_SOCKET] | init [-u UID GID GROUPS] SOCKET ARG... | pty CONSOLE_SOCKET PROG ARG... | exec UID GID GROUPS CWD ARG...\n");
  return 2;
}
