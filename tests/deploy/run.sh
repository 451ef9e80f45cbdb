#!/usr/bin/env bash
# Validates mlpipe's deployment files, offline (after the one-time
# tests/deploy/install.sh, which this runs first and which does nothing when
# the tools are there):
#
#   validate_k8s.js        every manifest against the Kubernetes API schemas
#                          (kubernetes-models) and field by field against the
#                          API types (kubernetes-types + TypeScript)
#   validate_compose.js    the compose file against the Compose Specification
#   docker-compose config  the compose file through Docker Compose itself
#   lint_dockerfiles.js    dockerfile-utils and the project's Dockerfile rules
#   check_consistency.js   Dockerfiles, compose and manifests agree
#   test_healthcheck.sh    the images' HEALTHCHECK script against a real server
#   test_bootstrap.sh      the bootstrap script's steps and idempotence
#   test_host_start.js     the real binaries started with the manifests' command,
#                          variable names and probes
#   self-tests             each checker, given a copy with one known mistake,
#                          must fail: a checker that cannot fail proves nothing
#
# Ends with "N passed, M failed"; exit status 1 when anything failed.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top" || exit 1

pass=0 fail=0
count() { # reads ok / not ok lines, echoes them, counts them
	local line
	while IFS= read -r line; do
		echo "$line"
		case $line in
		'ok - '*) pass=$((pass + 1)) ;;
		'not ok - '*) fail=$((fail + 1)) ;;
		esac
	done
}
# a command that must succeed; its own ok/not ok lines are counted, and its
# exit status must agree with them
step() {
	local name=$1; shift
	local out rc
	out=$("$@" 2>&1); rc=$?
	count <<<"$out"
	if [ $rc -ne 0 ] && ! grep -q '^not ok - ' <<<"$out"; then
		echo "not ok - $name exited $rc"
		fail=$((fail + 1))
	fi
}

if ! "$here/install.sh" >/tmp/mlpipe-deploy-install.$$ 2>&1; then
	cat /tmp/mlpipe-deploy-install.$$
	rm -f /tmp/mlpipe-deploy-install.$$
	echo "not ok - install of the validators (tests/deploy/install.sh)"
	echo "0 passed, 1 failed"
	exit 1
fi
rm -f /tmp/mlpipe-deploy-install.$$

step validate_k8s node "$here/validate_k8s.js"
step validate_compose node "$here/validate_compose.js"
if out=$(docker-compose -f docker/docker-compose.yml config -q 2>&1); then
	count <<<"ok - docker-compose config -q docker/docker-compose.yml"
else
	count <<<"not ok - docker-compose config -q docker/docker-compose.yml"
	sed 's/^/#   /' <<<"$out"
fi
step lint_dockerfiles node "$here/lint_dockerfiles.js"
step check_consistency node "$here/check_consistency.js"
step test_healthcheck bash "$here/test_healthcheck.sh"
step test_bootstrap bash "$here/test_bootstrap.sh"
# the real binaries, started as the manifests and images start them (needs
# the database of make test)
if [ -n "${PGHOST:-}" ]; then
	step test_host_start node "$here/test_host_start.js"
else
	count <<<"not ok - test_host_start needs a database: run it through make test"
fi

# ---- self-tests: one mistake in a copy, the named checker must fail --------
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# mutant NAME FILE SED-EXPRESSION CHECKER...
mutant() {
	local name=$1 file=$2 expr=$3; shift 3
	local dir="$scratch/$RANDOM$RANDOM"
	mkdir -p "$dir"
	cp -r docker k8s "$dir/"
	mkdir -p "$dir/tests" && cp -r tests/images "$dir/tests/"
	cp "$dir/$file" "$dir/$file.orig"
	sed -i "$expr" "$dir/$file"
	if cmp -s "$dir/$file" "$dir/$file.orig"; then
		count <<<"not ok - self-test $name: the mutation did not apply to $file"
		return
	fi
	rm "$dir/$file.orig"
	local out rc
	out=$("$@" --root "$dir" 2>&1); rc=$?
	if [ $rc -ne 0 ] && grep -q '^not ok - ' <<<"$out"; then
		count <<<"ok - self-test $name: caught"
	else
		count <<<"not ok - self-test $name: not caught (exit $rc)"
	fi
}
k8s="node $here/validate_k8s.js"
mutant "k8s schema: replicas as a string" k8s/30-model-registry.yaml 's/replicas: 2/replicas: "two"/' $k8s
mutant "k8s schema: unknown kind" k8s/10-postgres.yaml 's/^kind: StatefulSet/kind: StatefulSets/' $k8s
mutant "k8s schema: bad enum value" k8s/10-postgres.yaml 's/type: ClusterIP/type: ClusterAddress/' $k8s
mutant "k8s strict: misspelt field" k8s/32-inference-service.yaml 's/readinessProbe:/readinessProbes:/' $k8s
mutant "k8s strict: field at the wrong level" k8s/41-pdb.yaml '0,/minAvailable: 1/s//minAvailable: 1\n  maxReplicas: 3/' $k8s
mutant "k8s CloudNativePG schema: misspelt field" k8s/scale-out/10-cnpg-cluster.yaml 's/enablePDB: false/enablePdb: false/' $k8s
mutant "k8s CloudNativePG schema: bad enum value" k8s/scale-out/10-cnpg-cluster.yaml 's/primaryUpdateStrategy: unsupervised/primaryUpdateStrategy: automatic/' $k8s
mutant "k8s CloudNativePG schema: instances as a string" k8s/scale-out/10-cnpg-cluster.yaml 's/instances: 3/instances: "3"/' $k8s
mutant "compose schema: unknown depends_on condition" docker/docker-compose.yml 's/service_completed_successfully/service_done/' node "$here/validate_compose.js"
mutant "compose schema: misspelt key" docker/docker-compose.yml 's/stop_grace_period: 30s/stop_grace_periods: 30s/' node "$here/validate_compose.js"
mutant "dockerfile-utils: bad HEALTHCHECK duration" docker/Dockerfile.model_registry 's/--interval=15s/--interval=15x/' node "$here/lint_dockerfiles.js"
mutant "dockerfile-utils: unknown COPY flag" docker/Dockerfile.inference_service 's/COPY --from=build/COPY --form=build/' node "$here/lint_dockerfiles.js"
mutant "practices: apt without --no-install-recommends" docker/Dockerfile.postgres 's/ --no-install-recommends libxgboost0/ libxgboost0/' node "$here/lint_dockerfiles.js"
mutant "practices: service image as root" docker/Dockerfile.preprocessing_service '/^USER /d' node "$here/lint_dockerfiles.js"
cons="node $here/check_consistency.js"
mutant "consistency: Deployment port differs from the image" k8s/32-inference-service.yaml 's/containerPort: 8002/containerPort: 8003/' $cons
mutant "consistency: wrong NodePort" k8s/31-preprocessing-service.yaml 's/nodePort: 30001/nodePort: 30011/' $cons
mutant "consistency: readiness path" k8s/30-model-registry.yaml 's|path: /readyz|path: /ready|' $cons
mutant "consistency: image PORT differs" docker/Dockerfile.model_registry 's/PORT=8000/PORT=8080/' $cons
mutant "consistency: env name the services do not read" docker/docker-compose.yml 's/PGPASSWORD: \*registry-password/PG_PASSWORD_X: *registry-password/' $cons
mutant "consistency: autoscaler minimum" k8s/40-hpa.yaml '0,/minReplicas: 2/s//minReplicas: 1/' $cons
mutant "consistency: Secret key that does not exist" k8s/01-secret.yaml 's/  password: change-me-db-password/  passwd: change-me-db-password/' $cons
# least privilege: each service its own role and password, never the owner's
mutant "roles: compose inference logs in as the owner" docker/docker-compose.yml 's/PGUSER: mlpipe_inference/PGUSER: mlpipe/' $cons
mutant "roles: compose inference uses the registry's password" docker/docker-compose.yml 's/PGPASSWORD: \*inference-password/PGPASSWORD: *registry-password/' $cons
mutant "roles: compose bootstrap sets no inference password" docker/docker-compose.yml '/MLPIPE_INFERENCE_PASSWORD: \*inference-password/d' $cons
mutant "roles: k8s inference logs in as the owner" k8s/32-inference-service.yaml '0,/name: mlpipe-db-inference/s//name: mlpipe-db/' $cons
mutant "roles: k8s inference uses the owner's Secret" k8s/32-inference-service.yaml 's/name: mlpipe-db-inference/name: mlpipe-db/' $cons
mutant "roles: k8s preprocessing shares the registry's Secret" k8s/31-preprocessing-service.yaml 's/name: mlpipe-db-preprocessing/name: mlpipe-db-registry/' $cons
mutant "roles: k8s service Secret names another role" k8s/01-secret.yaml 's/username: mlpipe_inference/username: mlpipe_registry/' $cons
mutant "roles: k8s bootstrap Job sets no inference password" k8s/20-bootstrap-job.yaml '/name: MLPIPE_INFERENCE_PASSWORD/,+4d' $cons
mutant "roles: CloudNativePG inference role in the writer group" k8s/scale-out/10-cnpg-cluster.yaml '/name: mlpipe_inference$/,/passwordSecret/s/- mlpipe_reader/- mlpipe_writer/' $cons
mutant "roles: CloudNativePG role without its Secret" k8s/scale-out/10-cnpg-cluster.yaml '/name: mlpipe-db-registry/d' $cons
mutant "roles: CloudNativePG grants drift from sql/roles.sql" k8s/scale-out/10-cnpg-cluster.yaml '/GRANT INSERT ON mlpipe.purchases TO mlpipe_ingest/d' $cons
mutant "roles: bootstrap.sh no longer runs roles.sql" docker/bootstrap.sh '/-f "$sql_dir\/roles.sql"/d' $cons
# body-size limits where an operator sees them
mutant "limits: registry upload limit missing in k8s" k8s/30-model-registry.yaml '/name: MLPIPE_MAX_UPLOAD/,+1d' $cons
mutant "limits: batch limit misspelt in compose" docker/docker-compose.yml 's/MLPIPE_MAX_BATCH_BODY: \${MLPIPE_MAX_BATCH_BODY/MLPIPE_MAX_BATCHBODY: ${MLPIPE_MAX_BATCH_BODY/' $cons
mutant "limits: batch limit not a byte count" k8s/32-inference-service.yaml 's/value: "16777216"/value: "16M"/' $cons
# the images the images suite builds are the ones compose and k8s name
mutant "images: k8s runs a tag the images suite does not build" k8s/31-preprocessing-service.yaml 's/image: preprocessing-service:latest/image: preprocessing-service:1.0/' $cons
mutant "images: the images suite leaves out an image compose builds" tests/images/run.sh 's/ inference-service:latest"/"/' $cons
mutant "images: compose changes the users' PostgreSQL base" docker/docker-compose.yml 's/MLPIPE_PG_BASE:-postgres:15-bookworm/MLPIPE_PG_BASE:-debian:bookworm/' $cons
boot="bash $here/test_bootstrap.sh"
mutant "bootstrap: roles.sql not run" docker/bootstrap.sh '/-f "$sql_dir\/roles.sql"/d' $boot
mutant "bootstrap: password pasted into the SQL text" docker/bootstrap.sh "s/PASSWORD :'pw';/PASSWORD '\$(printenv \$(password_var \"\$r\"))';/" $boot
mutant "bootstrap: empty password accepted" docker/bootstrap.sh '/is empty or unset/d' $boot

# kubectl apply -f k8s/ goes by file name: a Secret after its users must fail
dir="$scratch/order"
mkdir -p "$dir" && cp -r docker k8s "$dir/" && mv "$dir/k8s/01-secret.yaml" "$dir/k8s/50-secret.yaml"
if ! out=$(node "$here/check_consistency.js" --root "$dir" 2>&1) && grep -q '^not ok - k8s apply order' <<<"$out"; then
	count <<<"ok - self-test consistency: Secret applied after its users: caught"
else
	count <<<"not ok - self-test consistency: Secret applied after its users: not caught"
fi
# Docker Compose itself must reject what the schema rejects
dir="$scratch/compose"
mkdir -p "$dir" && cp -r docker "$dir/"
sed -i 's/service_completed_successfully/service_done/' "$dir/docker/docker-compose.yml"
if ! docker-compose -f "$dir/docker/docker-compose.yml" config -q >/dev/null 2>&1; then
	count <<<"ok - self-test docker-compose config: unknown depends_on condition: caught"
else
	count <<<"not ok - self-test docker-compose config: unknown depends_on condition: not caught"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
