#!/bin/sh
# Parley's container entry point.
#
#   serve    (default) migrate unless MIGRATE_ON_START=0, then exec daphne
#   migrate  apply migrations and exit (docker-compose's one-shot `migrate`)
#   …        anything else is exec'd as is (`manage.py shell`, `sh`, …)
#
# docker-compose runs migrations once, in the `migrate` service, and starts the
# web replicas only after it has exited successfully, with MIGRATE_ON_START=0.
# The default (migrate on start) suits a lone `docker run`; never leave it on for
# several replicas starting at once.
set -eu

case "${1:-serve}" in
    serve)
        if [ "${MIGRATE_ON_START:-1}" != "0" ]; then
            python manage.py migrate --noinput
            python manage.py load_playbooks
        fi
        # daphne with its access log redacted (config/serve.py); --proxy-headers:
        # take the client address from nginx's X-Forwarded-For.
        exec python -m config.serve --bind 0.0.0.0 --port "${PORT:-8000}" --proxy-headers \
            config.asgi:application
        ;;
    migrate)
        python manage.py migrate --noinput
        exec python manage.py load_playbooks
        ;;
    *)
        exec "$@"
        ;;
esac
