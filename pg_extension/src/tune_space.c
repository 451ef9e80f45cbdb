/*
 * tune_space.c — sampling and enumerating hyperparameter search spaces.
 *
 * The generator is mlpipe's own (splitmix64) rather than rand() or
 * random(): their sequences differ between C libraries, and a tuning run
 * must give the same trials wherever it runs again.
 */
#include "tune_space.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
mlp_rng_seed(MlpRng *rng, uint64_t seed)
{
	rng->state = seed;
}

static uint64_t
rng_next(MlpRng *rng)
{
	uint64_t	z = (rng->state += UINT64_C(0x9E3779B97F4A7C15));

	z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
	return z ^ (z >> 31);
}

double
mlp_rng_uniform(MlpRng *rng)
{
	return (double) (rng_next(rng) >> 11) * 0x1.0p-53;
}

static void
set_err(char *err, size_t errlen, const char *fmt, const char *name)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, fmt, name);
}

static bool
is_whole(double v)
{
	return v == floor(v) && fabs(v) < 1e15;
}

bool
mlp_space_check(const MlpSpaceDim *dims, int ndims, bool grid,
				char *err, size_t errlen)
{
	if (ndims < 0 || ndims > MLP_SPACE_MAX_DIMS)
	{
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "the space has %d hyperparameters; at most %d are allowed",
					 ndims, MLP_SPACE_MAX_DIMS);
		return false;
	}
	for (int i = 0; i < ndims; i++)
	{
		const MlpSpaceDim *d = &dims[i];

		for (int j = 0; j < i; j++)
			if (strcmp(dims[j].name, d->name) == 0)
			{
				set_err(err, errlen, "%s appears twice in the space", d->name);
				return false;
			}
		if (!d->is_range)
		{
			if (d->nvalues < 1 || d->nvalues > MLP_SPACE_MAX_VALUES || d->values == NULL)
			{
				set_err(err, errlen, "%s must list between 1 and 256 values", d->name);
				return false;
			}
			continue;
		}
		if (grid)
		{
			set_err(err, errlen, "%s is a range, and a grid search needs a list of values", d->name);
			return false;
		}
		if (!isfinite(d->min) || !isfinite(d->max) || d->min > d->max)
		{
			set_err(err, errlen, "%s needs finite min and max with min <= max", d->name);
			return false;
		}
		if (d->log && d->min <= 0)
		{
			set_err(err, errlen, "%s is a log range, so its min must be above 0", d->name);
			return false;
		}
		if (d->is_int && (!is_whole(d->min) || !is_whole(d->max)))
		{
			set_err(err, errlen, "%s is an int range, so min and max must be whole numbers", d->name);
			return false;
		}
	}
	return true;
}

size_t
mlp_space_grid_size(const MlpSpaceDim *dims, int ndims)
{
	size_t		n = 1;

	for (int i = 0; i < ndims; i++)
	{
		size_t		k = dims[i].is_range ? 1 : (size_t) dims[i].nvalues;

		if (k != 0 && n > SIZE_MAX / k)
			return SIZE_MAX;
		n *= k;
	}
	return n;
}

void
mlp_space_grid_point(const MlpSpaceDim *dims, int ndims, size_t index,
					 MlpTrialValues *out)
{
	for (int i = ndims - 1; i >= 0; i--)
	{
		size_t		k = (size_t) dims[i].nvalues;

		out->value[i] = dims[i].values[index % k];
		index /= k;
	}
}

/* A range's draw u in [0, 1) as a number of the range. */
static double
range_value(const MlpSpaceDim *d, double u)
{
	/* whole numbers: draw over [min, max + 1) and round down */
	double		hi = d->is_int ? d->max + 1 : d->max;
	double		v;

	if (d->log)
		v = exp(log(d->min) + u * (log(hi) - log(d->min)));
	else
		v = d->min + u * (hi - d->min);
	if (d->is_int)
		v = floor(v);
	/* exp(log(x)) may land a hair outside */
	if (v < d->min)
		v = d->min;
	if (v > d->max)
		v = d->max;
	return v;
}

static void
format_range_value(const MlpSpaceDim *d, double v, char *buf, size_t len)
{
	if (d->is_int)
	{
		snprintf(buf, len, "%.0f", v);
		return;
	}
	snprintf(buf, len, "%.6g", v);
	/* rounding to 6 digits must not leave the range */
	v = strtod(buf, NULL);
	if (v < d->min)
		snprintf(buf, len, "%.17g", d->min);
	else if (v > d->max)
		snprintf(buf, len, "%.17g", d->max);
}

void
mlp_space_sample(const MlpSpaceDim *dims, int ndims, MlpRng *rng,
				 MlpTrialValues *out)
{
	for (int i = 0; i < ndims; i++)
	{
		const MlpSpaceDim *d = &dims[i];
		double		u = mlp_rng_uniform(rng);

		if (!d->is_range)
		{
			int			k = (int) (u * d->nvalues);

			out->value[i] = d->values[k < d->nvalues ? k : d->nvalues - 1];
			continue;
		}
		format_range_value(d, range_value(d, u), out->text[i], sizeof(out->text[i]));
		out->value[i] = out->text[i];
	}
}

/* value as a finite number, or false */
static bool
parse_number(const char *value, double *v)
{
	char	   *end;

	errno = 0;
	*v = strtod(value, &end);
	return errno == 0 && end != value && *end == '\0' && isfinite(*v);
}

bool
mlp_space_contains(const MlpSpaceDim *d, const char *value)
{
	double		v,
				listed;
	bool		number = parse_number(value, &v);

	if (!d->is_range)
	{
		/* "0.05" is "0.050": numbers compare as numbers */
		for (int i = 0; i < d->nvalues; i++)
			if (strcmp(d->values[i], value) == 0 ||
				(number && parse_number(d->values[i], &listed) && listed == v))
				return true;
		return false;
	}
	if (!number)
		return false;
	if (d->is_int && !is_whole(v))
		return false;
	return v >= d->min && v <= d->max;
}
