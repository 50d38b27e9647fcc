/* The pod sandbox's process for e2e/cri-harness.ts (the role of registry.k8s.io/pause): it holds
 * the pod's namespaces by staying alive, reaps whatever is reparented to it, and exits 0 on
 * SIGTERM or SIGINT (as pid 1 it would ignore them without handlers). Built static by the harness. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void quit(int sig) { (void)sig; _exit(0); }

static void reap(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(void) {
  struct sigaction sa = {0};
  sa.sa_handler = quit;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sa.sa_handler = reap;
  sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
  sigaction(SIGCHLD, &sa, NULL);
  for (;;) pause();
  return 1;
}
