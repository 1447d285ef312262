#!/bin/sh
# npm test: the typecheck, the linter (Biome), the dead-code check (knip) and every Vitest project;
# fails if any fails. The static checks run beside the tests rather than before them: they are CPU
# work while the first tests mostly wait for wrangler and workerd to start, so together they
# finish sooner (docs/testing.md). Arguments go to vitest, e.g. `npm test -- --reporter=verbose`.
npm run -s typecheck &
typecheck=$!
(npm run -s lint && npm run -s knip) &
lint=$!
vitest run "$@"
tests=$?
wait "$typecheck"
types=$?
wait "$lint"
linted=$?
[ "$types" -eq 0 ] || echo "npm test: typecheck failed" >&2
[ "$linted" -eq 0 ] || echo "npm test: lint or knip failed (npm run lint; npm run knip)" >&2
exit $((tests || types || linted))
