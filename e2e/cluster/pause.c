/* The pause image's program (registry.k8s.io/pause is not pulled here): sleeps until told to stop
   and reaps its children. Built with gcc -static -Os -s by real-node.ts and kind-image/build.sh. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
static void stop(int sig) { (void)sig; _exit(0); }
static void reap(int sig) { (void)sig; while (waitpid(-1, 0, WNOHANG) > 0) {} }
int main(void) {
  signal(SIGINT, stop); signal(SIGTERM, stop); signal(SIGCHLD, reap);
  for (;;) pause();
}
