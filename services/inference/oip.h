/*
 * oip.h — the Open Inference Protocol V2 infer request, parsed into
 * PostgreSQL array literals (one database round trip for N rows), and the
 * reply written with PostgreSQL's own text of each float8.
 *
 * Two request forms (SPEC section 8):
 *   raw       six inputs of shape [N]: customer_id INT64, purchase_date BYTES,
 *             purchase_amount FP64, annual_income FP64, age INT64,
 *             gender BYTES; output predicted_purchase_amount FP64 [N]
 *   features  one input "features" FP64 [N, 19] (null: a missing value);
 *             output prediction FP64 [N], the raw model output
 * Each row of the raw form is checked by validate_raw_purchase, so infer
 * accepts exactly what /predict accepts and sends PostgreSQL the same text.
 * No PostgreSQL here: unit-tested and fuzzed on its own.
 */
#ifndef MLPIPE_OIP_H
#define MLPIPE_OIP_H

#include <stddef.h>
#include <jansson.h>

#define OIP_NFEATURES 19
#define OIP_NRAW 6
#define OIP_MAX_ROWS 10000		/* as /predict/batch */

enum oip_form
{
	OIP_RAW,
	OIP_FEATURES
};

struct oip_request
{
	enum oip_form form;
	size_t		rows;
	const char *id;				/* the request's "id", borrowed; NULL when absent */
	/*
	 * raw: customer_id, purchase_date, purchase_amount, annual_income, age,
	 * gender, as text[] literals; features: [0] is a text[] of one float8[]
	 * literal per row.  malloc'd.
	 */
	char	   *arrays[OIP_NRAW];
};

/* The raw inputs in statement order, and their datatypes. */
extern const char *const oip_raw_names[OIP_NRAW];
extern const char *const oip_raw_types[OIP_NRAW];

/*
 * Parses an infer body.  0 and out filled (free it with oip_request_free),
 * or -1 with the protocol's message in err (the reply is 400 {"error": err}).
 */
int			oip_parse_infer(json_t *body, struct oip_request *out, char *err, size_t errsz);

void		oip_request_free(struct oip_request *r);

/* The output tensor's name for a form. */
const char *oip_output_name(enum oip_form form);

/*
 * The infer reply {"model_name", "model_version", ["id",] "outputs": [{name,
 * datatype FP64, shape [rows], data}]} with data copied from a float8[]
 * text ("{1.5,NULL,...}": the shortest exact digits PostgreSQL prints; NULL,
 * NaN and infinities become null).  malloc'd, *len set; NULL when the array
 * does not hold rows elements or memory runs out.
 */
char	   *oip_infer_reply(const char *model, const char *version, const char *id,
							enum oip_form form, size_t rows, const char *array_text,
							size_t *len);

#endif
