#!/usr/bin/env bash
# Container entrypoint: secrets given as files become environment variables, then the command runs.
#
#   entrypoint.sh COMMAND [ARG...]
#
# For every exported variable NAME_FILE where NAME is a secret's name (AMQP_URI, or ending in
# _PASSWORD, _PASS, _TOKEN, _TOKEN_DIGESTS, _SECRET or _KEY), NAME is exported with the content of
# the file it names (trailing newlines dropped, as "$(<file)" does) and NAME_FILE is unset. This
# has to happen before `nameko run` expands ${NAME:default} in config.yml, and before the rabbitmq
# image's own entrypoint, which refuses RABBITMQ_DEFAULT_PASS_FILE. Other *_FILE variables are
# paths meant as paths (SSL_CERT_FILE, RABBITMQ_CONFIG_FILE) and are left alone. Refused, before
# the command runs: NAME and NAME_FILE both set (NAME non-empty), a file that cannot be read, an
# empty file.
#
# RUN_AS=<user>: when this runs as root, the command runs as that user. Compose's file secrets are
# bind mounts that keep the host's owner and mode (0600), so only root can read them; the service
# image starts as root for that and drops to its user here.
set -euo pipefail

refuse() {
    printf 'entrypoint: %s\n' "$*" >&2
    exit 78 # EX_CONFIG
}

for file_variable in $(compgen -e); do
    [[ $file_variable == ?*_FILE ]] || continue
    name=${file_variable%_FILE}
    [[ $name =~ ^(AMQP_URI|.+_(PASSWORD|PASS|TOKEN|TOKEN_DIGESTS|SECRET|KEY))$ ]] || continue
    path=${!file_variable}
    if [[ -n ${!name:-} ]]; then
        refuse "both $name and $file_variable are set; set only one of them"
    fi
    if [[ ! -f $path || ! -r $path ]]; then
        refuse "$file_variable=$path is not a readable file"
    fi
    value=$(<"$path")
    if [[ -z $value ]]; then
        refuse "$file_variable=$path is empty"
    fi
    export "$name=$value"
    unset "$file_variable"
done

if [[ $# -eq 0 ]]; then
    refuse "no command given"
fi

if [[ -n ${RUN_AS:-} && $(id -u) -eq 0 ]]; then
    account=$(getent passwd "$RUN_AS") || refuse "RUN_AS=$RUN_AS: no such user"
    IFS=: read -r _ _ uid gid _ home _ <<<"$account"
    export HOME="$home"
    exec setpriv --reuid="$uid" --regid="$gid" --init-groups -- "$@"
fi
exec "$@"
