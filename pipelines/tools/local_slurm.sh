#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, to try the workflow's cluster path (profiles/slurm) for real.
#
#   sudo bash pipelines/tools/local_slurm.sh up [--gpu] [--accounting]   # install (Debian packages), configure, start
#   sudo bash pipelines/tools/local_slurm.sh status
#   sudo bash pipelines/tools/local_slurm.sh down                        # stop exactly the daemons `up` started
#
# Needs root and apt (Debian / Ubuntu). By default the cluster keeps no job accounting
# (accounting_storage/none): `sacct` cannot answer there, so runs use `--slurm-status-command squeue`
# (profiles/slurm says why). --accounting: job accounting through slurmdbd and a MariaDB server on this
# machine, enforced (a job must name an account the cluster knows); the account `gvos` is created for
# root. --gpu: the node offers one GPU through gres (a stand-in, File=/dev/null), so that GPU requests
# (`--gpus=1`) are scheduled on a machine without one; the jobs then run on the CPU.
# The daemons are started by hand (no systemd needed); their PIDs are kept in $STATE_DIR, and `down`
# stops those and nothing else. Where systemd started them when the packages were installed, `up`
# stops those first (they ran without this configuration).
set -euo pipefail

STATE_DIR=/run/gvos-local-slurm
CONF_DIR=/etc/slurm
PACKAGES=(slurmctld slurmd slurm-client munge)
ACCOUNTING_PACKAGES=(slurmdbd mariadb-server)
ACCOUNT=gvos
DB_SOCKET=/run/mysqld/mysqld.sock

die() { echo "local_slurm: $*" >&2; exit 2; }

need_root() { [ "$(id -u)" = 0 ] || die "run as root (it installs packages and starts daemons)"; }

install_packages() {
    local missing=()
    for package in "$@"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return
    command -v apt-get >/dev/null || die "apt-get not found: install ${missing[*]} yourself"
    echo "local_slurm: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
        # started without our configuration
        systemctl stop slurmd slurmctld slurmdbd munge mariadb >/dev/null 2>&1 || true
    fi
}

write_config() {
    local gpu=$1 accounting=$2 host cpus memory
    host=$(hostname -s)
    getent hosts "$host" >/dev/null || echo "127.0.1.1 $host" >> /etc/hosts  # slurmd must resolve its name
    cpus=$(nproc)
    memory=$(( $(free -m | awk '/^Mem:/ {print $2}') * 8 / 10 ))
    mkdir -p "$CONF_DIR" /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
    local gres="" gres_types=""
    if [ "$gpu" = 1 ]; then
        gres=" Gres=gpu:1"
        gres_types="GresTypes=gpu"
        echo "Name=gpu File=/dev/null" > "$CONF_DIR/gres.conf"
    else
        rm -f "$CONF_DIR/gres.conf"
    fi
    local storage="AccountingStorageType=accounting_storage/none"
    if [ "$accounting" = 1 ]; then
        storage="AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStorageEnforce=associations"
    fi
    cat > "$CONF_DIR/slurm.conf" <<EOF
# written by pipelines/tools/local_slurm.sh: one node, daemons run as root
ClusterName=local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
$storage
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
MinJobAge=600
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$STATE_DIR/slurmctld.pid
SlurmdPidFile=$STATE_DIR/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
$gres_types
NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN$gres
PartitionName=cpu Nodes=ALL Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=ALL MaxTime=INFINITE State=UP
EOF
}

running() {  # running NAME: a daemon `up` started is alive
    local file="$STATE_DIR/$1.pid" pid
    [ -f "$file" ] || return 1
    for pid in $(cat "$file"); do kill -0 "$pid" 2>/dev/null && return 0; done
    return 1
}

start_accounting() {  # MariaDB and slurmdbd, with this cluster registered
    install_packages "${ACCOUNTING_PACKAGES[@]}"
    mkdir -p /run/mysqld
    chown mysql:mysql /run/mysqld
    if ! mysqladmin --socket="$DB_SOCKET" ping >/dev/null 2>&1; then
        mariadbd --user=mysql --datadir=/var/lib/mysql --socket="$DB_SOCKET" --pid-file=/run/mysqld/mysqld.pid \
            --bind-address=127.0.0.1 >/var/log/slurm/mariadb.log 2>&1 &
        for _ in $(seq 1 60); do mysqladmin --socket="$DB_SOCKET" ping >/dev/null 2>&1 && break; sleep 0.5; done
        mysqladmin --socket="$DB_SOCKET" ping >/dev/null 2>&1 || die "MariaDB did not start (/var/log/slurm/mariadb.log)"
        cat /run/mysqld/mysqld.pid > "$STATE_DIR/mariadbd.pid"
    fi
    mysql --socket="$DB_SOCKET" -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'localslurm';
        GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"
    printf '%s\n' "# written by pipelines/tools/local_slurm.sh" "AuthType=auth/munge" "DbdHost=localhost" "SlurmUser=root" \
        "StorageType=accounting_storage/mysql" "StorageHost=localhost" "StorageUser=slurm" \
        "StoragePass=localslurm" "StorageLoc=slurm_acct_db" "PidFile=$STATE_DIR/slurmdbd.pid" \
        "LogFile=/var/log/slurm/slurmdbd.log" > "$CONF_DIR/slurmdbd.conf"
    chown root:root "$CONF_DIR/slurmdbd.conf"
    chmod 600 "$CONF_DIR/slurmdbd.conf"  # slurmdbd refuses a config others may read
    /usr/sbin/slurmdbd
    for _ in $(seq 1 60); do sacctmgr -n list cluster >/dev/null 2>&1 && break; sleep 0.5; done
    sacctmgr -n list cluster >/dev/null 2>&1 || die "slurmdbd did not answer (/var/log/slurm/slurmdbd.log)"
    sacctmgr -n list cluster format=cluster | grep -qw local || sacctmgr -i add cluster local >/dev/null
}

register_account() {  # the account root's jobs may name (enforced: a job naming another is refused)
    sacctmgr -n list account format=account | grep -qw "$ACCOUNT" ||
        sacctmgr -i add account "$ACCOUNT" Description=local Organization=local >/dev/null
    sacctmgr -n list assoc format=user,account | grep -q "root *$ACCOUNT" ||
        sacctmgr -i add user root Account="$ACCOUNT" >/dev/null
}

start() {
    local gpu=0 accounting=0
    for arg in "$@"; do
        case "$arg" in
            --gpu) gpu=1 ;;
            --accounting) accounting=1 ;;
            *) die "unknown option $arg (up [--gpu] [--accounting])" ;;
        esac
    done
    need_root
    if [ -f "$STATE_DIR/started" ]; then
        running "slurmctld" && die "already up (pipelines/tools/local_slurm.sh down first)"
        echo "local_slurm: the cluster recorded in $STATE_DIR no longer runs; starting afresh"
        stop >/dev/null
    fi
    install_packages "${PACKAGES[@]}"
    write_config "$gpu" "$accounting"
    mkdir -p "$STATE_DIR" /run/munge
    chown munge:munge /run/munge
    if ! pgrep -x munged >/dev/null; then
        runuser -u munge -- /usr/sbin/munged  # it detaches: its PID is read back
        pgrep -x -u munge munged > "$STATE_DIR/munged.pid"
    fi
    if [ "$accounting" = 1 ]; then start_accounting; fi
    /usr/sbin/slurmctld
    /usr/sbin/slurmd
    touch "$STATE_DIR/started"
    for _ in $(seq 1 60); do
        if sinfo -h -o %T 2>/dev/null | grep -qx idle; then
            if [ "$accounting" = 1 ]; then register_account; fi
            echo "local_slurm: up, node $(hostname -s) idle ($(nproc) CPUs$([ "$gpu" = 1 ] && echo ', 1 stand-in GPU')$(
                [ "$accounting" = 1 ] && echo ", accounting, account $ACCOUNT"))"
            return
        fi
        sleep 1
    done
    sinfo >&2 || true
    die "the node did not become idle in 60 s (see /var/log/slurm/)"
}

stop() {
    need_root
    local stopped=0
    for name in slurmd slurmctld slurmdbd mariadbd munged; do
        local file="$STATE_DIR/$name.pid"
        [ -f "$file" ] || continue
        local pid
        for pid in $(cat "$file"); do
            kill -0 "$pid" 2>/dev/null || continue
            kill "$pid"
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
            stopped=$((stopped + 1))
        done
        rm -f "$file"
    done
    rm -f "$STATE_DIR/started"
    echo "local_slurm: down ($stopped daemons stopped)"
}

case "${1:-}" in
    up) shift; start "$@" ;;
    down) stop ;;
    status) sinfo && squeue ;;
    *) die "usage: $0 up [--gpu] [--accounting] | down | status" ;;
esac
