# Sourced by example.sh and example-proxy.sh: the secret that signs the example's sessions and
# shared links. Yours if DOWNLOADVIEW_SECRET is set, else one made on first run and kept in
# example-app/.data/secret (so links and sessions survive a restart).
if [ -z "${DOWNLOADVIEW_SECRET:-}" ]; then
  mkdir -p example-app/.data
  [ -s example-app/.data/secret ] || node -e "process.stdout.write(require('node:crypto').randomBytes(32).toString('base64url'))" > example-app/.data/secret
  DOWNLOADVIEW_SECRET="$(cat example-app/.data/secret)"
fi
export DOWNLOADVIEW_SECRET
