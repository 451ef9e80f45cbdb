# mlpipe — top-level targets.  `make run` brings the system up on generated
# data; `make test` builds, installs and runs every test suite on a
# throwaway cluster.  See README.md.

.PHONY: all extension tools services install deps run test bench psql status stop clean fuzz test-asan standby bench-scale

# `make run DATA=path.csv` names make run's input file, but PGXS reads DATA
# as the list of files to install: a DATA given on the command line must
# not reach any sub-make (nor the make calls of scripts/run.sh, which get
# MAKEFLAGS from here).  run.sh reads it from the environment, where both
# `make run DATA=x` and `DATA=x make run` put it.
MAKEOVERRIDES := $(filter-out DATA=%,$(MAKEOVERRIDES))

all: extension tools services

extension:
	$(MAKE) -C pg_extension

tools:
	$(MAKE) -C tools

services:
	@if [ -f services/Makefile ]; then $(MAKE) -C services; fi

install: all
	@if [ "$$(id -u)" -eq 0 ]; then $(MAKE) -C pg_extension install; \
	else sudo $(MAKE) -C pg_extension install; fi

deps:
	@scripts/deps.sh

# DATA=path.csv loads that file instead of generated data
run: deps
	@scripts/run.sh

test: deps
	@scripts/test.sh

bench: deps
	@scripts/bench.sh

# /predict through a PL/Proxy proxy with 2 shards next to one node (docs/scaling.md)
bench-scale: deps
	@scripts/bench_scale.sh

# each parser's libFuzzer target for SECONDS (make test runs them briefly)
SECONDS ?= 60
fuzz:
	$(MAKE) -C tests/fuzz fuzz SECONDS=$(SECONDS)

# services under ASan+UBSan through the end-to-end suite, the extension
# under valgrind through pg_regress, the unit tests under ASan+UBSan
test-asan: deps
	@scripts/asan.sh

psql:
	@scripts/pg.sh psql

status:
	@scripts/pg.sh status

# a hot standby of the embedded cluster: var/pg-standby, port 5434
# (MLPIPE_SYNC_COMMIT=on or remote_apply makes commits wait for it)
standby:
	@scripts/pg.sh standby

stop:
	@if [ -e var/pg-standby ]; then MLPIPE_PG_NAME=pg-standby scripts/pg.sh stop; fi
	@scripts/pg.sh stop

clean:
	$(MAKE) -C pg_extension clean
	rm -rf build
