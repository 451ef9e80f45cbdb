/*
 * prediction.h — the body of a /predict answer:
 * {"customer_id", "purchase_date", "predicted_purchase_amount",
 * "model_version"}, the first two echoed as the request gave them, the last
 * the version that answered (after resolving an alias or latest).
 */
#ifndef MLPIPE_PREDICTION_H
#define MLPIPE_PREDICTION_H

#include <jansson.h>

#include "service.h"

/*
 * As a JSON object; value is borrowed, a non-number (SQL null) stays null.
 * version NULL: no "model_version" (a batch's items; the batch names it).
 */
json_t	   *prediction(json_t *purchase, json_t *value, const char *version);

/*
 * The same reply written directly, with the amount as PostgreSQL's own
 * text of the float8: the shortest digits that read back exactly.  jansson
 * would build an object and print 17 digits through printf, about 6 % of a
 * /predict's CPU.  Returns 0, rep untouched, when value is not a finite
 * number (the slow path answers) or the reply does not fit its buffer.
 */
int			reply_prediction_text(struct reply *rep, json_t *purchase, const char *value,
								  const char *version);

#endif
