/*
 * artifact_sniff.h — what an uploaded model file looks like, from its first
 * bytes: XGBoost JSON text, or one of the formats people upload by mistake
 * (pickle, joblib's zip and compressed files, UBJSON, XGBoost's binary
 * format, a text dump).  Plain C, no allocation; shared by the extension's
 * model reader (xgb_model.c) and the registry service, which refuses such
 * files before sending them to the database (docs/models.md).
 */
#ifndef MLPIPE_ARTIFACT_SNIFF_H
#define MLPIPE_ARTIFACT_SNIFF_H

#include <stddef.h>

typedef enum MlpArtifactKind
{
	MLP_ARTIFACT_JSON_OBJECT,	/* starts like a JSON object: parsing will tell */
	MLP_ARTIFACT_JSON_OTHER,	/* JSON text, but an array or a string, not a model */
	MLP_ARTIFACT_EMPTY,			/* no bytes, or only white space */
	MLP_ARTIFACT_PICKLE,
	MLP_ARTIFACT_COMPRESSED,	/* zip, gzip, bzip2, xz, lz4, lzma, zlib */
	MLP_ARTIFACT_XGB_BINARY,	/* XGBoost's deprecated binary format */
	MLP_ARTIFACT_UBJSON,		/* save_model("m.ubj") */
	MLP_ARTIFACT_TEXT_DUMP,		/* dump_model's text: cannot be loaded */
	MLP_ARTIFACT_TEXT,			/* some other text */
	MLP_ARTIFACT_BINARY			/* some other binary data */
} MlpArtifactKind;

typedef struct MlpArtifactSniff
{
	MlpArtifactKind kind;
	size_t		json_start;		/* JSON kinds: first byte after a UTF-8 byte order mark */
	/* for the other kinds: one or two sentences saying what the bytes look
	 * like and, for pickles, why they are refused */
	char		description[200];
} MlpArtifactSniff;

/* What len bytes at data look like (data may be NULL when len is 0);
 * returns out->kind. */
MlpArtifactKind mlp_artifact_sniff(const void *data, size_t len, MlpArtifactSniff *out);

/* What to do instead, for messages that refuse a file. */
extern const char mlp_artifact_export_hint[];

#endif							/* MLPIPE_ARTIFACT_SNIFF_H */
