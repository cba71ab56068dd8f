#!/usr/bin/env bash
# A single-node SLURM on this machine, for the end-to-end test of `gradreg slurm`
# (test/cluster/slurm.test.ts): installs Debian's slurm-wlm and munge when they are missing, writes a
# slurm.conf in which this machine is both the controller and the only compute node, and starts
# munged, slurmctld and slurmd directly (there is no systemd in a container). Stop them with
# scripts/stop-slurm-ci.sh.
#
# Run as root. Everything lives under $GRADREG_SLURM_DIR (default /tmp/gradreg-slurm): the config,
# state, spool, logs and pid files. /etc/slurm/slurm.conf is pointed at that config when it does
# not exist yet (so sbatch, squeue and scancel find it); otherwise export SLURM_CONF as printed.
# Idempotent: daemons already running from this directory are left running.
set -euo pipefail

DIR="${GRADREG_SLURM_DIR:-/tmp/gradreg-slurm}"
CONF="$DIR/slurm.conf"
log() { echo "setup-slurm-ci: $*"; }
die() { echo "setup-slurm-ci: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (it installs packages and starts the SLURM daemons as root)"

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
  log "installing slurm-wlm and munge"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null || die "apt-get install slurm-wlm munge failed"
fi

mkdir -p "$DIR/state" "$DIR/spool" "$DIR/log" "$DIR/run"
chmod 755 "$DIR"

# ---- munge: a key, its directories, and the daemon (running as the munge user) ----
id munge >/dev/null 2>&1 || die "the munge user is missing (the munge package creates it)"
install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
install -d -o munge -g munge -m 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
  log "creating /etc/munge/munge.key"
  if command -v mungekey >/dev/null; then
    mungekey --create --force --keyfile=/etc/munge/munge.key
  else
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
  fi
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
  log "munged is already running"
else
  log "starting munged"
  runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
  echo "$(cat /run/munge/munged.pid)" >"$DIR/run/munged.pid"
  for _ in $(seq 50); do munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n </dev/null | unmunge >/dev/null || die "munged does not answer (see /var/log/munge/munged.log)"
fi

# ---- slurm.conf: this host as controller and compute node, on the loopback address (a container's
# hostname need not resolve) ----
HOST="$(hostname -s)"
NODE="$(slurmd -C | head -n1)"
case "$NODE" in NodeName=*) ;; *) die "slurmd -C printed no node line: $NODE" ;; esac
cat >"$CONF" <<EOF
# Written by scripts/setup-slurm-ci.sh: a single-node cluster for gradreg's tests.
ClusterName=gradreg-ci
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=600
KillWait=5
Waittime=0
$NODE NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
if [ ! -e /etc/slurm/slurm.conf ] || [ "$(readlink /etc/slurm/slurm.conf 2>/dev/null)" = "$CONF" ]; then
  mkdir -p /etc/slurm
  ln -sfn "$CONF" /etc/slurm/slurm.conf
else
  log "/etc/slurm/slurm.conf exists and is not ours: export SLURM_CONF=$CONF"
fi
export SLURM_CONF="$CONF"

alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

if alive "$DIR/run/slurmctld.pid"; then
  log "slurmctld is already running"
else
  log "starting slurmctld"
  /usr/sbin/slurmctld -f "$CONF" || die "slurmctld did not start (see $DIR/log/slurmctld.log)"
fi
for _ in $(seq 100); do scontrol ping 2>/dev/null | grep -q 'is UP' && break; sleep 0.2; done
scontrol ping | grep -q 'is UP' || die "slurmctld does not answer (see $DIR/log/slurmctld.log)"

if alive "$DIR/run/slurmd.pid"; then
  log "slurmd is already running"
else
  log "starting slurmd"
  /usr/sbin/slurmd -f "$CONF" -N "$HOST" || die "slurmd did not start (see $DIR/log/slurmd.log)"
fi
state=""
for _ in $(seq 150); do
  state="$(sinfo -h -n "$HOST" -o %T 2>/dev/null | head -n1)"
  case "$state" in idle*|mixed*|allocated*) break ;; esac
  sleep 0.2
done
case "$state" in
  idle*|mixed*|allocated*) ;;
  *) scontrol update nodename="$HOST" state=resume >/dev/null 2>&1 || true
     sleep 1
     state="$(sinfo -h -n "$HOST" -o %T | head -n1)"
     case "$state" in idle*|mixed*|allocated*) ;; *) die "node $HOST is '$state', not idle (see $DIR/log/slurmd.log)" ;; esac ;;
esac
log "SLURM is up: node $HOST $state, config $CONF"
