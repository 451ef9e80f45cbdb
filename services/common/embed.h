/*
 * embed.h — files built into the binary.
 *
 * The services' container images copy only the binaries, and /docs and the
 * console must work without a network: so the OpenAPI documents and the
 * browser assets (npm's swagger-ui-dist and chart.js, installed by the
 * build into build/web) are assembled into .rodata with .incbin.  The file
 * name is a string literal (the Makefile passes the directories as macros);
 * each EMBED gives sym[] and sym_end[], and a NUL after the last byte.
 */
#ifndef MLPIPE_EMBED_H
#define MLPIPE_EMBED_H

#include <stddef.h>

#define EMBED(sym, file) \
	__asm__(".pushsection .rodata\n" \
			".balign 16\n" \
			".globl " #sym "\n" \
			#sym ":\n" \
			".incbin \"" file "\"\n" \
			".globl " #sym "_end\n" \
			#sym "_end:\n" \
			".byte 0\n" \
			".popsection\n"); \
	extern const char sym[]; \
	extern const char sym##_end[]

/* One embedded file served under a name. */
struct asset
{
	const char *name;			/* "swagger-ui.css" */
	const char *content_type;
	const char *data;
	const char *end;
};

#endif
