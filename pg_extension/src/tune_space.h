/*
 * tune_space.h — hyperparameter search spaces and their trials (docs/tuning.md).
 *
 * Plain C, no PostgreSQL.  A space is a list of dimensions, one per
 * hyperparameter: either a list of values (text, as XGBoost takes them) or
 * a numeric range {min, max, log, int}.  Random search samples every
 * dimension independently with mlpipe's own seeded generator, so the same
 * seed gives the same trials on every machine; grid search walks the
 * cartesian product of lists, last dimension fastest.
 */
#ifndef MLPIPE_TUNE_SPACE_H
#define MLPIPE_TUNE_SPACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MLP_SPACE_MAX_DIMS 32
#define MLP_SPACE_MAX_VALUES 256

typedef struct MlpSpaceDim
{
	const char *name;			/* the hyperparameter */
	bool		is_range;
	/* a list: nvalues texts, owned by the caller */
	int			nvalues;
	const char *const *values;
	/* a range: [min, max], log-uniform if log, whole numbers if is_int */
	double		min;
	double		max;
	bool		log;
	bool		is_int;
} MlpSpaceDim;

/* One trial's values, in the order of the space's dimensions. */
typedef struct MlpTrialValues
{
	const char *value[MLP_SPACE_MAX_DIMS];
	char		text[MLP_SPACE_MAX_DIMS][32];	/* room for sampled numbers */
} MlpTrialValues;

/* A splitmix64 generator: small, fast, and the same everywhere. */
typedef struct MlpRng
{
	uint64_t	state;
} MlpRng;

void		mlp_rng_seed(MlpRng *rng, uint64_t seed);
/* Uniform in [0, 1), 53 random bits. */
double		mlp_rng_uniform(MlpRng *rng);

/*
 * Checks a space: at most MLP_SPACE_MAX_DIMS dimensions, no name twice,
 * lists of 1..MLP_SPACE_MAX_VALUES values, finite ranges with min <= max,
 * log ranges above 0, int ranges with whole bounds; a grid takes lists
 * only.  On failure writes a sentence naming the dimension into err and
 * returns false.
 */
bool		mlp_space_check(const MlpSpaceDim *dims, int ndims, bool grid,
							char *err, size_t errlen);

/* Number of grid points (lists only), saturating at SIZE_MAX. */
size_t		mlp_space_grid_size(const MlpSpaceDim *dims, int ndims);

/* Grid point `index` (0-based, below mlp_space_grid_size). */
void		mlp_space_grid_point(const MlpSpaceDim *dims, int ndims, size_t index,
								 MlpTrialValues *out);

/*
 * One random point: each dimension in order draws one number from rng (a
 * list picks a value uniformly; a range draws uniformly, or log-uniformly,
 * and whole-number ranges cover every integer in [min, max] equally).
 * Sampled numbers are written with 6 significant digits: the text is the
 * value XGBoost gets and the trial records.
 */
void		mlp_space_sample(const MlpSpaceDim *dims, int ndims, MlpRng *rng,
							 MlpTrialValues *out);

/* Whether `value` (text) lies in the dimension: listed, or a number in range. */
bool		mlp_space_contains(const MlpSpaceDim *dim, const char *value);

#endif							/* MLPIPE_TUNE_SPACE_H */
