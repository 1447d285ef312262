#!/bin/sh
# npm test: the typecheck and every Vitest project; fails if either fails. The typecheck runs beside
# the tests rather than before them: it is CPU work while the first tests mostly wait for
# wrangler and workerd to start, so together they finish sooner (docs/testing.md).
# Arguments go to vitest, e.g. `npm test -- --reporter=verbose`.
npm run -s typecheck &
typecheck=$!
vitest run "$@"
tests=$?
wait "$typecheck"
types=$?
[ "$types" -eq 0 ] || echo "npm test: typecheck failed" >&2
exit $((tests || types))
