# Two commands on a fresh machine: `make demo` and `make test` (each sets up .venv first).
PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed
DEMO_OUTPUT ?= output/demo
# The report's browser test drives Debian's chromium (Playwright never downloads a browser).
CHROMIUM := /usr/bin/chromium
# OCR (detectors/ocr.py): Debian's tesseract 5.3 with its English data; the OCR evaluation
# draws text in DejaVu and Liberation fonts (evaluation/ocr_images.py).
TESSERACT_ENG := /usr/share/tesseract-ocr/5/tessdata/eng.traineddata
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
# Airflow in its own virtualenv (dags/requirements.txt), for the nightly DAG and its test.
AIRFLOW_VENV ?= .airflow-venv
AIRFLOW_STAMP := $(AIRFLOW_VENV)/.installed
# Beam's Flink and Spark job servers (flink/pom.xml, spark/pom.xml), for tests/test_flink.py
# and --runner FlinkRunner / SparkRunner: .flink/lib, .spark/lib.
JOB_SERVERS := flink spark
MVN_COPY := org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
	-DincludeScope=runtime

.PHONY: demo test eval bench sample clean airflow fuzz flink flink-lock spark spark-lock

$(STAMP): setup.py requirements/no-deps.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q "setuptools>=77.0.3,<82" wheel
	$(VENV)/bin/pip install -q --no-deps --require-hashes -r requirements/no-deps.txt
	$(VENV)/bin/pip install -q -e ".[test,eval,clip,gpu,ocr]"
	touch $@

demo: $(STAMP) $(TESSERACT_ENG)
	$(VENV)/bin/hygiene --input 'sample/text/*' 'sample/image_text/*' sample/image_folder/ \
		--config sample/policy.yaml --output $(DEMO_OUTPUT) --overwrite

# Whole test files go to TEST_WORKERS processes (module fixtures run once); 0: in this process.
TEST_WORKERS ?= 2
test: $(STAMP) $(CHROMIUM) $(TESSERACT_ENG) $(AIRFLOW_STAMP) .flink/.installed .spark/.installed
	$(VENV)/bin/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile tests

airflow: $(AIRFLOW_STAMP)

# The parser fuzzing of tests/test_fuzz_parsers.py at length (CI runs 40 examples each).
FUZZ_EXAMPLES ?= 5000
fuzz: $(STAMP)
	HYGIENE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(VENV)/bin/python -m pytest -q tests/test_fuzz_parsers.py

# Every evaluation script, then one table of precision, recall and F1 (docs/BENCHMARKS.md).
# Labelled sets come from ../shared/eval-data where present; EVAL_ARGS=--quick for a short run.
eval: $(STAMP) $(TESSERACT_ENG)
	$(VENV)/bin/python -m evaluation $(EVAL_ARGS)

# Every stage's benchmark and the whole job, then one table (docs/BENCHMARKS.md); the peers
# (datatrove, imagededup) get virtualenvs of their own in .bench/. BENCH_ARGS=--quick: short.
bench: $(STAMP) .flink/.installed
	$(VENV)/bin/python -m benchmarks $(BENCH_ARGS)

flink spark: %: .%/.installed

# Maven fetches a job server's jars with the repository's checksums enforced (-C), then each
# is checked against the SHA-512 sums committed in NAME/jars.sha512 and nothing else may be
# there; the job itself never fetches anything. After changing NAME/pom.xml: make NAME-lock.
.%/.installed: %/pom.xml %/jars.sha512
	rm -rf .$*/lib $@
	mvn -B -q -C -f $*/pom.xml $(MVN_COPY) -DoutputDirectory=$(CURDIR)/.$*/lib
	cd .$*/lib && sha512sum --quiet --strict -c $(CURDIR)/$*/jars.sha512
	test "$$(ls .$*/lib | wc -l)" -eq "$$(wc -l < $*/jars.sha512)"
	touch $@

flink-lock spark-lock: %-lock:
	rm -rf .$*/lib .$*/.installed
	mvn -B -q -C -f $*/pom.xml $(MVN_COPY) -DoutputDirectory=$(CURDIR)/.$*/lib
	cd .$*/lib && sha512sum *.jar > $(CURDIR)/$*/jars.sha512

$(AIRFLOW_STAMP): dags/requirements.txt
	$(PYTHON) -m venv $(AIRFLOW_VENV)
	$(AIRFLOW_VENV)/bin/pip install -q -r dags/requirements.txt
	touch $@

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver

$(TESSERACT_ENG):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq tesseract-ocr \
		tesseract-ocr-eng fonts-dejavu-core fonts-liberation
	test -f $@

# Regenerate the bundled sample (needs scikit-image for its CC0 photos).
sample: $(STAMP)
	$(VENV)/bin/pip install -q -e ".[sample]"
	$(VENV)/bin/python scripts/make_sample.py

clean:
	rm -rf $(VENV) $(AIRFLOW_VENV) $(JOB_SERVERS:%=.%) output build *.egg-info
