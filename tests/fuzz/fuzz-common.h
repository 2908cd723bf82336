/* fuzz-common.h: what the libFuzzer harnesses share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

int LLVMFuzzerInitialize   (int            *argc,
                            char         ***argv);
int LLVMFuzzerTestOneInput (const guint8   *data,
                            size_t          size);

/* Quiet logs (a harness feeds junk on purpose: every drop says why), but
 * a critical (a broken precondition) aborts, so the fuzzer reports it. */
void        fuzz_init_logging (void);

/* A directory of the harness's own, made once, removed at exit. */
const char *fuzz_tmp_dir      (void);

G_END_DECLS
