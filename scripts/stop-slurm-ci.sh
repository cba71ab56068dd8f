#!/usr/bin/env bash
# Stop what scripts/setup-slurm-ci.sh started: cancel the jobs left in the queue, then stop slurmd,
# slurmctld and (if that script started it) munged, each by the pid in its pid file.
set -uo pipefail

DIR="${GRADREG_SLURM_DIR:-/tmp/gradreg-slurm}"
export SLURM_CONF="${SLURM_CONF:-$DIR/slurm.conf}"
log() { echo "stop-slurm-ci: $*"; }

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop() {
  local name="$1" pidfile="$2"
  if alive "$pidfile"; then
    local pid
    pid="$(cat "$pidfile")"
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name did not stop in 10 s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null
    fi
  fi
  rm -f "$pidfile"
}

if alive "$DIR/run/slurmctld.pid" && command -v scancel >/dev/null; then
  scancel --user="$(id -un)" 2>/dev/null
  for _ in $(seq 50); do [ -z "$(squeue -h -u "$(id -un)" 2>/dev/null)" ] && break; sleep 0.2; done
fi
stop slurmd "$DIR/run/slurmd.pid"
stop slurmctld "$DIR/run/slurmctld.pid"
stop munged "$DIR/run/munged.pid"
log "done"
