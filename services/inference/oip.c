/*
 * oip.c — Open Inference Protocol V2 infer requests and replies (oip.h).
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coalesce.h"
#include "oip.h"
#include "validate.h"

const char *const oip_raw_names[OIP_NRAW] = {
	"customer_id", "purchase_date", "purchase_amount", "annual_income", "age", "gender"
};
const char *const oip_raw_types[OIP_NRAW] = {"INT64", "BYTES", "FP64", "FP64", "INT64", "BYTES"};

/* nesting of "data" beyond this is refused (a [N, 19] tensor needs 2) */
#define MAX_DATA_DEPTH 8

static int
fail(char *err, size_t errsz, const char *fmt,...)
__attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errsz, const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
	return -1;
}

const char *
oip_output_name(enum oip_form form)
{
	return form == OIP_RAW ? "predicted_purchase_amount" : "prediction";
}

void
oip_request_free(struct oip_request *r)
{
	for (int i = 0; i < OIP_NRAW; i++)
	{
		free(r->arrays[i]);
		r->arrays[i] = NULL;
	}
}

/* One input tensor as received; data flattened (borrowed elements). */
struct tensor
{
	const char *name;
	const char *datatype;
	json_t	   *shape;
	json_t	   *flat;			/* owned */
};

/* Appends the leaves of data to flat in row-major order; -1 when too deep. */
static int
flatten(json_t *data, json_t *flat, int depth)
{
	size_t		i;
	json_t	   *v;

	if (depth > MAX_DATA_DEPTH)
		return -1;
	json_array_foreach(data, i, v)
	{
		if (json_is_array(v))
		{
			if (flatten(v, flat, depth + 1) != 0)
				return -1;
		}
		else
			json_array_append(flat, v);
	}
	return 0;
}

/* "[3, 19]" into buf, for messages */
static const char *
shape_text(json_t *shape, char *buf, size_t size)
{
	char	   *s = json_dumps(shape, JSON_COMPACT);

	snprintf(buf, size, "%s", s ? s : "?");
	free(s);
	return buf;
}

/* The shape's dimensions; -1 unless it is an array of 1..2 integers >= 0. */
static int
shape_dims(json_t *shape, long long dims[2])
{
	size_t		n = json_array_size(shape);

	if (!json_is_array(shape) || n < 1 || n > 2)
		return -1;
	for (size_t i = 0; i < n; i++)
	{
		json_t	   *d = json_array_get(shape, i);

		if (!json_is_integer(d) || json_integer_value(d) < 0)
			return -1;
		dims[i] = json_integer_value(d);
	}
	return (int) n;
}

static int
known_input(const char *name)
{
	if (strcmp(name, "features") == 0)
		return 1;
	for (int k = 0; k < OIP_NRAW; k++)
		if (strcmp(name, oip_raw_names[k]) == 0)
			return 1;
	return 0;
}

static int
read_tensor(json_t *in, size_t index, struct tensor *t, char *err, size_t errsz)
{
	json_t	   *data;

	memset(t, 0, sizeof(*t));
	if (!json_is_object(in))
		return fail(err, errsz, "inputs[%zu] must be an object with name, shape, datatype and data", index);
	t->name = json_string_value(json_object_get(in, "name"));
	if (t->name == NULL)
		return fail(err, errsz, "inputs[%zu] has no name (a string)", index);
	if (!known_input(t->name))
		return fail(err, errsz, "unknown input '%s': expected customer_id, purchase_date, "
					"purchase_amount, annual_income, age and gender, or features alone", t->name);
	t->datatype = json_string_value(json_object_get(in, "datatype"));
	if (t->datatype == NULL)
		return fail(err, errsz, "input '%s' has no datatype (a string)", t->name);
	t->shape = json_object_get(in, "shape");
	if (!json_is_array(t->shape))
		return fail(err, errsz, "input '%s' has no shape (an array of integers)", t->name);
	data = json_object_get(in, "data");
	if (!json_is_array(data))
		return fail(err, errsz, "input '%s' has no data (an array)", t->name);
	t->flat = json_array();
	if (t->flat == NULL || flatten(data, t->flat, 1) != 0)
		return fail(err, errsz, "input '%s': data is nested too deeply", t->name);
	return 0;
}

/* Text of a number for float8in: exact (17 significant digits for a real). */
static void
number_text(json_t *v, char *buf, size_t size)
{
	if (json_is_integer(v))
		snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else
		snprintf(buf, size, "%.17g", json_real_value(v));
}

/*
 * One float8[] literal per row, gathered into a text[]: the statement
 * casts each row (r::float8[]), which costs the row's own length, where
 * slicing one flat array per row would rescan its null bitmap every time.
 */
static int
parse_features(struct tensor *t, struct oip_request *out, char *err, size_t errsz)
{
	long long	dims[2];
	char		sb[64];
	size_t		n;
	size_t		rows;
	const char **values;
	char	   *texts;

	if (strcmp(t->datatype, "FP64") != 0)
		return fail(err, errsz, "input 'features' has datatype %s, expected FP64", t->datatype);
	if (shape_dims(t->shape, dims) != 2 || dims[1] != OIP_NFEATURES)
		return fail(err, errsz, "input 'features' has shape %s, expected [N, %d]",
					shape_text(t->shape, sb, sizeof(sb)), OIP_NFEATURES);
	if (dims[0] > OIP_MAX_ROWS)
		return fail(err, errsz, "input 'features' has %lld rows, at most %d are allowed",
					dims[0], OIP_MAX_ROWS);
	rows = (size_t) dims[0];
	n = rows * OIP_NFEATURES;
	if (json_array_size(t->flat) != n)
		return fail(err, errsz, "input 'features' has %zu values, its shape %s needs %zu",
					json_array_size(t->flat), shape_text(t->shape, sb, sizeof(sb)), n);
	for (size_t i = 0; i < n; i++)
	{
		json_t	   *v = json_array_get(t->flat, i);

		if (!json_is_null(v) && !json_is_number(v))
			return fail(err, errsz, "input 'features' element %zu is not a number (FP64) or null", i);
	}
	/* a value is at most 24 characters ("-1.2345678901234567e-300"), plus its comma */
	values = calloc(rows ? rows : 1, sizeof(*values));
	texts = malloc(rows ? rows * OIP_NFEATURES * 26 + rows * 2 : 1);
	if (values == NULL || texts == NULL)
	{
		free(values);
		free(texts);
		return fail(err, errsz, "out of memory");
	}
	for (size_t r = 0, o = 0; r < rows; r++)
	{
		values[r] = texts + o;
		texts[o++] = '{';
		for (size_t j = 0; j < OIP_NFEATURES; j++)
		{
			json_t	   *v = json_array_get(t->flat, r * OIP_NFEATURES + j);
			char		num[32];

			/* null is a missing value: NULL in the array */
			if (json_is_null(v))
				strcpy(num, "NULL");
			else
				number_text(v, num, sizeof(num));
			o += (size_t) sprintf(texts + o, "%s%s", j ? "," : "", num);
		}
		texts[o++] = '}';
		texts[o++] = '\0';
	}
	out->form = OIP_FEATURES;
	out->rows = rows;
	out->arrays[0] = pg_text_array(values, rows);
	free(values);
	free(texts);
	return out->arrays[0] ? 0 : fail(err, errsz, "out of memory");
}

/* An element of a raw input must have its datatype's JSON type. */
static int
element_ok(const char *datatype, json_t *v)
{
	if (strcmp(datatype, "INT64") == 0)
		return json_is_integer(v);
	if (strcmp(datatype, "FP64") == 0)
		return json_is_number(v);
	return json_is_string(v);
}

/* Rows checked by validate_raw_purchase, as /predict checks its purchase_data. */
static int
parse_raw_rows(struct tensor *in[OIP_NRAW], size_t rows, struct oip_request *out,
			   char *err, size_t errsz)
{
	const char **cols[OIP_NRAW] = {0};
	struct raw_purchase *rp = calloc(rows ? rows : 1, sizeof(*rp));
	json_t	   *loc = json_array();
	json_t	   *errors = json_array();
	int			rc = 0;

	for (int k = 0; k < OIP_NRAW; k++)
		cols[k] = calloc(rows ? rows : 1, sizeof(const char *));
	for (int k = 0; k < OIP_NRAW; k++)
		if (cols[k] == NULL)
			rc = fail(err, errsz, "out of memory");
	if (rp == NULL || loc == NULL || errors == NULL)
		rc = fail(err, errsz, "out of memory");

	for (size_t r = 0; rc == 0 && r < rows; r++)
	{
		json_t	   *obj = json_object();

		for (int k = 0; k < OIP_NRAW; k++)
			json_object_set(obj, oip_raw_names[k], json_array_get(in[k]->flat, r));
		if (validate_raw_purchase(obj, loc, errors, &rp[r]) > 0)
		{
			json_t	   *e = json_array_get(errors, 0);
			const char *field = json_string_value(json_array_get(json_object_get(e, "loc"), 0));

			rc = fail(err, errsz, "input '%s' element %zu: %s", field ? field : "?", r,
					  json_string_value(json_object_get(e, "msg")));
		}
		json_decref(obj);
		if (rc != 0)
			break;
		/* the strings stay alive in the request body, which outlives this */
		cols[0][r] = rp[r].customer_id;
		cols[1][r] = rp[r].purchase_date;
		cols[2][r] = rp[r].purchase_amount;
		cols[3][r] = rp[r].annual_income;
		cols[4][r] = rp[r].age;
		cols[5][r] = rp[r].gender;
	}
	for (int k = 0; rc == 0 && k < OIP_NRAW; k++)
	{
		out->arrays[k] = pg_text_array(cols[k], rows);
		if (out->arrays[k] == NULL)
			rc = fail(err, errsz, "out of memory");
	}
	for (int k = 0; k < OIP_NRAW; k++)
		free(cols[k]);
	free(rp);
	json_decref(loc);
	json_decref(errors);
	return rc;
}

static int
parse_raw(struct tensor *t, size_t nt, struct oip_request *out, char *err, size_t errsz)
{
	struct tensor *in[OIP_NRAW] = {0};
	long long	rows = -1;
	const char *first = NULL;
	char		sb[64];

	for (size_t i = 0; i < nt; i++)
		for (int k = 0; k < OIP_NRAW; k++)
			if (strcmp(t[i].name, oip_raw_names[k]) == 0)
				in[k] = &t[i];
	for (int k = 0; k < OIP_NRAW; k++)
	{
		long long	dims[2];
		size_t		n;

		if (in[k] == NULL)
			return fail(err, errsz, "missing input '%s' (%s, shape [N]); the raw inputs are "
						"customer_id, purchase_date, purchase_amount, annual_income, age and gender",
						oip_raw_names[k], oip_raw_types[k]);
		if (strcmp(in[k]->datatype, oip_raw_types[k]) != 0)
			return fail(err, errsz, "input '%s' has datatype %s, expected %s",
						oip_raw_names[k], in[k]->datatype, oip_raw_types[k]);
		if (shape_dims(in[k]->shape, dims) != 1)
			return fail(err, errsz, "input '%s' has shape %s, expected [N]", oip_raw_names[k],
						shape_text(in[k]->shape, sb, sizeof(sb)));
		if (rows >= 0 && dims[0] != rows)
			return fail(err, errsz, "input '%s' has %lld rows but '%s' has %lld: every input needs the same N",
						oip_raw_names[k], dims[0], first, rows);
		rows = dims[0];
		first = oip_raw_names[k];
		n = json_array_size(in[k]->flat);
		if (n != (size_t) rows)
			return fail(err, errsz, "input '%s' has %zu values, its shape [%lld] needs %lld",
						oip_raw_names[k], n, rows, rows);
		for (size_t r = 0; r < n; r++)
			if (!element_ok(oip_raw_types[k], json_array_get(in[k]->flat, r)))
				return fail(err, errsz, "input '%s' element %zu is not of datatype %s",
							oip_raw_names[k], r, oip_raw_types[k]);
	}
	if (rows > OIP_MAX_ROWS)
		return fail(err, errsz, "%lld rows, at most %d are allowed", rows, OIP_MAX_ROWS);
	out->form = OIP_RAW;
	out->rows = (size_t) rows;
	return parse_raw_rows(in, (size_t) rows, out, err, errsz);
}

/* Requested outputs, when given, must name the form's one output. */
static int
check_outputs(json_t *body, enum oip_form form, char *err, size_t errsz)
{
	json_t	   *outputs = json_object_get(body, "outputs");
	size_t		i;
	json_t	   *o;

	if (outputs == NULL)
		return 0;
	if (!json_is_array(outputs))
		return fail(err, errsz, "outputs must be an array of {\"name\": ...}");
	json_array_foreach(outputs, i, o)
	{
		const char *name = json_string_value(json_object_get(o, "name"));

		if (name == NULL)
			return fail(err, errsz, "outputs[%zu] has no name (a string)", i);
		if (strcmp(name, oip_output_name(form)) != 0)
			return fail(err, errsz, "unknown output '%s': these inputs give '%s'", name,
						oip_output_name(form));
	}
	return 0;
}

int
oip_parse_infer(json_t *body, struct oip_request *out, char *err, size_t errsz)
{
	json_t	   *inputs;
	json_t	   *id;
	struct tensor t[OIP_NRAW + 1];
	size_t		nt;
	int			rc = 0;
	int			features = -1;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(body))
		return fail(err, errsz, "the request body must be a JSON object with \"inputs\"");
	id = json_object_get(body, "id");
	if (id != NULL && !json_is_string(id))
		return fail(err, errsz, "id must be a string");
	out->id = json_string_value(id);
	inputs = json_object_get(body, "inputs");
	nt = json_array_size(inputs);
	if (!json_is_array(inputs) || nt == 0)
		return fail(err, errsz, "inputs must be a non-empty array of tensors");
	/* seven known names cannot be all different: one more is room enough */
	if (nt > OIP_NRAW + 1)
		return fail(err, errsz, "%zu inputs: expected the six raw inputs or 'features' alone", nt);
	memset(t, 0, sizeof(t));
	for (size_t i = 0; rc == 0 && i < nt; i++)
	{
		rc = read_tensor(json_array_get(inputs, i), i, &t[i], err, errsz);
		if (rc != 0)
			break;
		for (size_t j = 0; rc == 0 && j < i; j++)
			if (strcmp(t[i].name, t[j].name) == 0)
				rc = fail(err, errsz, "input '%s' is given twice", t[i].name);
		if (rc == 0 && strcmp(t[i].name, "features") == 0)
			features = (int) i;
	}
	if (rc == 0 && features >= 0 && nt > 1)
		rc = fail(err, errsz, "input 'features' cannot be combined with other inputs");
	if (rc == 0)
		rc = features >= 0 ? parse_features(&t[features], out, err, errsz)
			: parse_raw(t, nt, out, err, errsz);
	if (rc == 0)
		rc = check_outputs(body, out->form, err, errsz);
	for (size_t i = 0; i < nt; i++)
		json_decref(t[i].flat);
	if (rc != 0)
		oip_request_free(out);
	return rc;
}

/* ---- the reply ---------------------------------------------------------- */

struct buf
{
	char	   *p;
	size_t		len;
	size_t		cap;
	int			oom;
};

static void
put(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap)
	{
		size_t		cap = b->cap ? b->cap : 256;
		char	   *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (p == NULL)
		{
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* a JSON string, escaped by jansson */
static void
put_string(struct buf *b, const char *s)
{
	json_t	   *j = json_string(s);
	char	   *t = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;

	if (t == NULL)
		b->oom = 1;
	else
		puts_(b, t);
	free(t);
	json_decref(j);
}

static size_t
digits(const char *s, size_t i, size_t n)
{
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

/*
 * Is s[0..n) a JSON number (float8out's text of a finite value always is;
 * NaN, Infinity and anything else are not)?  *integral: no '.' or exponent.
 */
static int
json_number_text(const char *s, size_t n, int *integral)
{
	size_t		i = 0,
				j;

	*integral = 1;
	if (i < n && s[i] == '-')
		i++;
	if (i < n && s[i] == '0')
		i++;
	else if ((j = digits(s, i, n)) > i && s[i] != '0')
		i = j;
	else
		return 0;
	if (i < n && s[i] == '.')
	{
		*integral = 0;
		if ((j = digits(s, i + 1, n)) == i + 1)
			return 0;
		i = j;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E'))
	{
		*integral = 0;
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if ((j = digits(s, i, n)) == i)
			return 0;
		i = j;
	}
	return i == n;
}

char *
oip_infer_reply(const char *model, const char *version, const char *id, enum oip_form form,
				size_t rows, const char *array_text, size_t *len)
{
	struct buf	b = {0};
	char		num[32];
	const char *s = array_text;
	size_t		count = 0;

	if (s == NULL || s[0] != '{')
		return NULL;
	puts_(&b, "{\"model_name\":");
	put_string(&b, model);
	puts_(&b, ",\"model_version\":");
	put_string(&b, version);
	if (id)
	{
		puts_(&b, ",\"id\":");
		put_string(&b, id);
	}
	puts_(&b, ",\"outputs\":[{\"name\":\"");
	puts_(&b, oip_output_name(form));
	snprintf(num, sizeof(num), "%zu", rows);
	puts_(&b, "\",\"datatype\":\"FP64\",\"shape\":[");
	puts_(&b, num);
	puts_(&b, "],\"data\":[");
	s++;
	while (*s && *s != '}')
	{
		size_t		n = strcspn(s, ",}");
		int			integral;

		if (count > 0)
			puts_(&b, ",");
		/*
		 * float8out never writes a value past a double's range, but the
		 * grammar alone would let one through, and JSON readers refuse it.
		 */
		if (json_number_text(s, n, &integral) && isfinite(strtod(s, NULL)))
		{
			put(&b, s, n);
			/* ".0" after an integral value, as /predict writes it */
			if (integral)
				puts_(&b, ".0");
		}
		else
			puts_(&b, "null");
		count++;
		s += n;
		if (*s == ',')
			s++;
	}
	puts_(&b, "]}]}");
	if (b.oom || count != rows || *s != '}')
	{
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}
