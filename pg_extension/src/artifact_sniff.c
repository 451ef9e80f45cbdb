/*
 * artifact_sniff.c — recognise model files that are not XGBoost JSON text
 * by their first bytes; see artifact_sniff.h.
 */
#include "artifact_sniff.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

const char	mlp_artifact_export_hint[] =
	"Export the model with booster.save_model(\"model.json\") (for the scikit-learn "
	"wrapper: model.get_booster().save_model(\"model.json\")) and upload that file.";

#define PICKLE_WHY " Pickle and joblib files are refused because loading them runs arbitrary code."

static bool
starts_with(const unsigned char *p, size_t len, const char *magic, size_t mlen)
{
	return len >= mlen && memcmp(p, magic, mlen) == 0;
}

static MlpArtifactKind
set(MlpArtifactSniff *out, MlpArtifactKind kind, const char *description)
{
	out->kind = kind;
	snprintf(out->description, sizeof(out->description), "%s", description);
	return kind;
}

/* zip, gzip, bzip2, xz, lz4 frame, lzma (joblib's compressors) and zlib */
static bool
is_compressed(const unsigned char *p, size_t len)
{
	if (starts_with(p, len, "PK\x03\x04", 4) || starts_with(p, len, "\x1f\x8b", 2) ||
		starts_with(p, len, "BZh", 3) || starts_with(p, len, "\xfd" "7zXZ", 5) ||
		starts_with(p, len, "\x04\x22\x4d\x18", 4) || starts_with(p, len, "\x5d\x00\x00", 3))
		return true;
	return len >= 2 && p[0] == 0x78 &&
		(p[1] == 0x01 || p[1] == 0x5e || p[1] == 0x9c || p[1] == 0xda);
}

MlpArtifactKind
mlp_artifact_sniff(const void *data, size_t len, MlpArtifactSniff *out)
{
	const unsigned char *p = data;
	size_t		i = 0;

	memset(out, 0, sizeof(*out));
	if (p == NULL)
		len = 0;
	if (len == 0)
		return set(out, MLP_ARTIFACT_EMPTY, "The file is empty (0 bytes).");
	if (p[0] == 0x80)
		return set(out, MLP_ARTIFACT_PICKLE,
				   "This looks like a Python pickle (or an uncompressed joblib file)." PICKLE_WHY);
	if (is_compressed(p, len))
		return set(out, MLP_ARTIFACT_COMPRESSED,
				   "This looks like a compressed or zip archive (a compressed joblib file?)." PICKLE_WHY);
	if (starts_with(p, len, "binf", 4))
		return set(out, MLP_ARTIFACT_XGB_BINARY,
				   "This looks like XGBoost's deprecated binary model format.");
	/* UBJSON: '{' then a binary type or length marker */
	if (p[0] == '{' && len >= 2 && p[1] != '\0' && strchr("iUIlL$#", p[1]) != NULL)
		return set(out, MLP_ARTIFACT_UBJSON,
				   "This looks like UBJSON (XGBoost's binary .ubj format), not JSON text.");

	if (starts_with(p, len, "\xef\xbb\xbf", 3))
		i = 3;					/* UTF-8 byte order mark */
	out->json_start = i;
	while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
		i++;
	if (i == len)
		return set(out, MLP_ARTIFACT_EMPTY, "The file holds only white space.");
	if (p[i] == '{')
		return set(out, MLP_ARTIFACT_JSON_OBJECT, "");
	if (p[i] == '[' || p[i] == '"')
		return set(out, MLP_ARTIFACT_JSON_OTHER,
				   "This is JSON, but not an object; an XGBoost model is a JSON object.");
	if (starts_with(p + i, len - i, "booster[", 8) || starts_with(p + i, len - i, "0:[", 3))
		return set(out, MLP_ARTIFACT_TEXT_DUMP,
				   "This looks like an XGBoost text dump (dump_model), which cannot be loaded.");
	out->kind = p[i] >= 0x20 && p[i] < 0x7f ? MLP_ARTIFACT_TEXT : MLP_ARTIFACT_BINARY;
	if (out->kind == MLP_ARTIFACT_TEXT)
		snprintf(out->description, sizeof(out->description),
				 "This is not JSON: it starts with the character '%c' instead of '{'.", p[i]);
	else
		snprintf(out->description, sizeof(out->description),
				 "This is binary data (first byte 0x%02x), not JSON text.", p[i]);
	return out->kind;
}
