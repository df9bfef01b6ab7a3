// Host firmware: the bedside loop as a POSIX process.
//
//   bedside-firmware [--pty | --tcp PORT | --stdio] [--idle-timeout-ms MS] [--simulate
//                    [--seed N] [--no-deteriorate] [--sample-ms MS] [--host-lease-ms MS]]
//                    [--verbose]
// Prints one line "PORT <url>" on stdout (stderr with --stdio), then serves forever.
// TCP serves one client at a time: a second one is told so and closed; a client silent
// for --idle-timeout-ms (default 120000, 0: never) is disconnected.
// Stand-alone (--simulate): one simulated sample every MS ms (default 20: a demo, not the
// real 60 s trend period), an EVENT frame per window (docs/protocol.md).
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "port_host.h"

namespace {
int usage() {
  fprintf(stderr,
          "usage: bedside-firmware [--pty | --tcp PORT | --stdio] [--idle-timeout-ms MS] "
          "[--simulate [--seed N] [--no-deteriorate] [--sample-ms MS] [--host-lease-ms MS]] "
          "[--verbose]\n");
  return 2;
}
}  // namespace

int main(int argc, char **argv) {
  HostLink link;
  bedside::AppOptions opt;
  opt.period_ms = 20;  // stand-alone demo pace: paced, so EVENTs never flood the link
  for (int i = 1; i < argc; ++i) {
    const char *a = argv[i];
    const bool has_value = i + 1 < argc;
    if (!strcmp(a, "--pty")) link.kind = HostLink::kPty;
    else if (!strcmp(a, "--stdio")) link.kind = HostLink::kStdio;
    else if (!strcmp(a, "--tcp") && has_value) { link.kind = HostLink::kTcp; link.tcp_port = atoi(argv[++i]); }
    else if (!strcmp(a, "--simulate")) opt.source = bedside::Source::kSimulator;
    else if (!strcmp(a, "--seed") && has_value) opt.sim_seed = (uint32_t)strtoul(argv[++i], nullptr, 0);
    else if (!strcmp(a, "--no-deteriorate")) opt.sim_deteriorate = false;
    else if ((!strcmp(a, "--sample-ms") || !strcmp(a, "--period-ms")) && has_value) opt.period_ms = (uint32_t)strtoul(argv[++i], nullptr, 0);
    else if (!strcmp(a, "--host-lease-ms") && has_value) opt.host_lease_ms = (uint32_t)strtoul(argv[++i], nullptr, 0);
    else if (!strcmp(a, "--idle-timeout-ms") && has_value) link.idle_timeout_ms = (unsigned)strtoul(argv[++i], nullptr, 0);
    else if (!strcmp(a, "--verbose")) link.verbose = true;
    else return usage();
  }
  signal(SIGPIPE, SIG_IGN);  // a TCP client that vanishes must not kill the device
  char url[256];
  if (!host_link_open(link, url, sizeof(url))) return 1;
  if (!bedside::app_setup(opt)) fprintf(stderr, "bedside-firmware: model backend failed to start\n");
  FILE *out = link.kind == HostLink::kStdio ? stderr : stdout;
  fprintf(out, "PORT %s\n", url);
  fflush(out);
  for (;;) bedside::app_poll();
}
