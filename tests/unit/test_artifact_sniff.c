/*
 * test_artifact_sniff.c — unit tests of the model file sniffer
 * (artifact_sniff.c), which the extension and the registry service share.
 */
#include <string.h>

#include "artifact_sniff.h"
#include "check.h"

/* The kind of len bytes; when `says` is given, the description holds it. */
static void
expect(const char *what, const char *data, size_t len, MlpArtifactKind kind, const char *says)
{
	MlpArtifactSniff s;
	char		label[512];

	snprintf(label, sizeof(label), "%s: kind", what);
	CHECK(mlp_artifact_sniff(data, len, &s) == kind && s.kind == kind, label);
	if (says)
	{
		snprintf(label, sizeof(label), "%s: description \"%s\" says \"%s\"", what, s.description, says);
		CHECK(strstr(s.description, says) != NULL, label);
	}
	if (kind != MLP_ARTIFACT_JSON_OBJECT)
	{
		snprintf(label, sizeof(label), "%s: a refusal is one or two sentences", what);
		CHECK(s.description[0] >= 'A' && s.description[0] <= 'Z' &&
			  s.description[strlen(s.description) - 1] == '.', label);
	}
}

int
main(void)
{
	static const char pickle[] = "\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x07xgboost\x94.";
	MlpArtifactSniff s;

	expect("empty", "", 0, MLP_ARTIFACT_EMPTY, "empty");
	expect("NULL", NULL, 0, MLP_ARTIFACT_EMPTY, "empty");
	expect("NULL with a length", NULL, 5, MLP_ARTIFACT_EMPTY, "empty");
	expect("white space", " \r\n\t", 4, MLP_ARTIFACT_EMPTY, "white space");
	expect("pickle", pickle, sizeof(pickle) - 1, MLP_ARTIFACT_PICKLE, "arbitrary code");
	expect("zip", "PK\x03\x04rest", 8, MLP_ARTIFACT_COMPRESSED, "zip");
	expect("gzip", "\x1f\x8b\x08\x00", 4, MLP_ARTIFACT_COMPRESSED, "joblib");
	expect("bzip2", "BZh91AY&SY", 10, MLP_ARTIFACT_COMPRESSED, NULL);
	expect("xz", "\xfd" "7zXZ\x00\x00", 7, MLP_ARTIFACT_COMPRESSED, NULL);
	expect("lz4", "\x04\x22\x4d\x18\x64", 5, MLP_ARTIFACT_COMPRESSED, NULL);
	expect("lzma", "\x5d\x00\x00\x80\x00", 5, MLP_ARTIFACT_COMPRESSED, NULL);
	expect("zlib", "\x78\x9c\x01\x02", 4, MLP_ARTIFACT_COMPRESSED, NULL);
	expect("zlib, one byte", "\x78", 1, MLP_ARTIFACT_TEXT, "'x'");
	expect("xgboost binary", "binf\x00\x00", 6, MLP_ARTIFACT_XGB_BINARY, "binary");
	expect("ubjson", "{L\x00\x00\x00\x00\x00\x00\x00\x07learner", 16, MLP_ARTIFACT_UBJSON, "UBJSON");
	expect("ubjson, $", "{$i#i\x01", 6, MLP_ARTIFACT_UBJSON, NULL);
	expect("text dump", "booster[0]:\n0:[f0<0.5]", 22, MLP_ARTIFACT_TEXT_DUMP, "dump");
	expect("text dump, no header", "0:[f0<0.5] yes=1", 16, MLP_ARTIFACT_TEXT_DUMP, NULL);
	expect("text", "hello", 5, MLP_ARTIFACT_TEXT, "'h'");
	expect("binary", "\x01\x02", 2, MLP_ARTIFACT_BINARY, "0x01");
	expect("array", " [1]", 4, MLP_ARTIFACT_JSON_OTHER, "not an object");
	expect("string", "\"x\"", 3, MLP_ARTIFACT_JSON_OTHER, NULL);
	expect("object", "{\"learner\": {}}", 15, MLP_ARTIFACT_JSON_OBJECT, NULL);
	expect("object after blanks", "\n\t {}", 5, MLP_ARTIFACT_JSON_OBJECT, NULL);
	expect("empty object", "{}", 2, MLP_ARTIFACT_JSON_OBJECT, NULL);
	expect("one brace", "{", 1, MLP_ARTIFACT_JSON_OBJECT, NULL);

	mlp_artifact_sniff("\xef\xbb\xbf{}", 5, &s);
	CHECK(s.kind == MLP_ARTIFACT_JSON_OBJECT && s.json_start == 3, "a byte order mark is skipped");
	mlp_artifact_sniff("  {}", 4, &s);
	CHECK(s.json_start == 0, "leading blanks stay (the JSON parser skips them)");
	mlp_artifact_sniff("\xef\xbb\xbf", 3, &s);
	CHECK(s.kind == MLP_ARTIFACT_EMPTY, "a byte order mark alone is empty");
	CHECK(strstr(mlp_artifact_export_hint, "save_model") != NULL, "the hint says how to export");
	return check_summary();
}
