#!/usr/bin/env bash
# Creates the secret files docker-compose.yml reads where they are missing; never overwrites one.
#
#   infra/make-secrets.sh [DIR]     DIR defaults to secrets/ beside docker-compose.yml
#
# `make compose-up` runs it. Passwords are 32 random bytes in hex (openssl rand), so they need no
# quoting in a URI. Static tokens: one per role and one for the audit service; their SHA-256
# digests go to auth_token_digests (AUTH_TOKEN_DIGESTS), the plain tokens to
# tokens-for-people.txt, for the operator to hand out and then delete. Files are mode 0600, the
# directory 0700. Secret values are never printed.
set -euo pipefail
umask 077

# docker-compose.yml: RABBITMQ_DEFAULT_USER of the rabbitmq service, host of the broker.
RABBITMQ_USER=cases
RABBITMQ_HOST=rabbitmq
SERVICES=(initiatives meetings letters_of_intent evaluations audit)
# Role, then the actor its token's requests are recorded as.
TOKENS=(
    "registrar:Registrator"
    "case_officer:Handläggare"
    "secretary:Nämndsekreterare"
    "strategist:Strateg"
    "auditor:Revisor"
)
AUDIT_SERVICE_ACTOR="Granskningstjänsten"

dir=${1:-"$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../secrets"}
mkdir -p "$dir"
chmod 0700 "$dir"
dir=$(cd "$dir" && pwd)

created=()
kept=()

random_secret() { openssl rand -hex 32; }
sha256_hex() { printf '%s' "$1" | openssl dgst -sha256 -r | cut -d' ' -f1; }

# write_new NAME VALUE: creates DIR/NAME holding VALUE unless it exists (noclobber: not even
# when another run created it meanwhile).
write_new() {
    if [[ -e $dir/$1 ]]; then
        kept+=("$1")
        return
    fi
    (set -o noclobber && printf '%s' "$2" >"$dir/$1")
    chmod 0600 "$dir/$1"
    created+=("$1")
}

# The tokens are made together: a digest without its plain token (or the reverse) is useless.
# tokens-for-people.txt may be gone (the operator deletes it once the tokens are handed out).
token_files=(auth_token_digests audit_token tokens-for-people.txt)
present=()
for name in "${token_files[@]}"; do
    [[ -e $dir/$name ]] && present+=("$name")
done
make_tokens=0
if [[ -e $dir/auth_token_digests && -e $dir/audit_token ]]; then
    kept+=("${present[@]}")
elif ((${#present[@]} > 0)); then
    printf 'make-secrets: %s has only %s of %s; the tokens are made together.\n' \
        "$dir" "${present[*]}" "${token_files[*]}" >&2
    printf 'make-secrets: remove them to make new tokens, or restore the missing ones.\n' >&2
    exit 1
else
    make_tokens=1
fi

write_new postgres_password "$(random_secret)"
for service in "${SERVICES[@]}"; do
    write_new "postgres_${service}_password" "$(random_secret)"
done
write_new rabbitmq_password "$(random_secret)"
write_new amqp_uri "amqp://$RABBITMQ_USER:$(<"$dir/rabbitmq_password")@$RABBITMQ_HOST:5672/"

if ((make_tokens)); then
    digests=()
    people="# Static tokens (HTTP header: Authorization: Bearer <token>). Hand each to its holder,
# then delete this file: the services keep only the SHA-256 digests (auth_token_digests).
# role	actor	token
"
    for entry in "${TOKENS[@]}"; do
        role=${entry%%:*}
        actor=${entry#*:}
        token=$(random_secret)
        digests+=("\"$(sha256_hex "$token")\": {\"actor\": \"$actor\", \"roles\": [\"$role\"]}")
        people+="$role	$actor	$token
"
    done
    audit_token=$(random_secret)
    digests+=("\"$(sha256_hex "$audit_token")\": {\"actor\": \"$AUDIT_SERVICE_ACTOR\", \"roles\": [\"auditor\"]}")
    joined=$(printf ',\n  %s' "${digests[@]}")
    write_new auth_token_digests "{${joined:1}
}
"
    write_new audit_token "$audit_token"
    write_new tokens-for-people.txt "$people"
fi

if ((${#created[@]})); then
    echo "make-secrets: created in $dir: ${created[*]}"
fi
if ((${#kept[@]})); then
    echo "make-secrets: kept as they were: ${kept[*]}"
fi
