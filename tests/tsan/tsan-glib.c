/* tsan-glib.c: teaches ThreadSanitizer the happens-before edges of GLib
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * GLib is not instrumented and its GMutex, GCond and GAsyncQueue are
 * futex-based, so TSan sees none of their synchronisation and reports
 * every access under a GMutex. Preloaded, this library wraps the calls
 * that cross into libglib (from our code, the tests and libgio) and
 * annotates them; calls inside libglib itself stay invisible, so reports
 * inside GLib (g_slice_free1, g_realloc: its own queues and allocator)
 * remain, are not ours, and suppressions.txt names them. Not built by
 * meson:
 *
 *   meson setup build-tsan -Db_sanitize=thread -Dintrospection=disabled
 *   ninja -C build-tsan
 *   gcc -shared -fPIC -O1 -o /tmp/tsan-glib.so tests/tsan/tsan-glib.c \
 *       $(pkg-config --cflags --libs gio-2.0) -ldl
 *   G_SLICE=always-malloc \
 *   TSAN_OPTIONS="halt_on_error=0 exitcode=0 report_signal_unsafe=0 \
 *                 suppressions=$PWD/tests/tsan/suppressions.txt" \
 *   LD_PRELOAD="/usr/lib/x86_64-linux-gnu/libtsan.so.2 /tmp/tsan-glib.so" \
 *   meson test -C build-tsan --no-rebuild --timeout-multiplier 6 \
 *       session engine multi resume resume-fetch resume-devices folders \
 *       tls tls-refuse tls-close ice ice-stream
 *   grep -A30 'WARNING: ThreadSanitizer' build-tsan/meson-logs/testlog.txt
 *
 * No setarch -R is needed on this kernel (vm.mmap_rnd_bits = 28, gcc 12).
 * exitcode=0 keeps children that report (the resume suites') from
 * failing with 66; the reports land in the test log (with a log_path, the
 * report file would count as a leaked descriptor in the session suite).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <glib.h>
#include <glib-object.h>
#include <gio/gio.h>

void __tsan_acquire (void *addr);
void __tsan_release (void *addr);

#define REAL(name) \
  static __typeof__ (name) *real; \
  if (real == NULL) real = (__typeof__ (name) *) dlsym (RTLD_NEXT, #name)

void g_mutex_lock (GMutex *m) { REAL (g_mutex_lock); real (m); __tsan_acquire (m); }
void g_mutex_unlock (GMutex *m) { REAL (g_mutex_unlock); __tsan_release (m); real (m); }
gboolean g_mutex_trylock (GMutex *m) { REAL (g_mutex_trylock); gboolean r = real (m); if (r) __tsan_acquire (m); return r; }
void g_rec_mutex_lock (GRecMutex *m) { REAL (g_rec_mutex_lock); real (m); __tsan_acquire (m); }
void g_rec_mutex_unlock (GRecMutex *m) { REAL (g_rec_mutex_unlock); __tsan_release (m); real (m); }
void g_rw_lock_writer_lock (GRWLock *m) { REAL (g_rw_lock_writer_lock); real (m); __tsan_acquire (m); }
void g_rw_lock_writer_unlock (GRWLock *m) { REAL (g_rw_lock_writer_unlock); __tsan_release (m); real (m); }
void g_rw_lock_reader_lock (GRWLock *m) { REAL (g_rw_lock_reader_lock); real (m); __tsan_acquire (m); }
void g_rw_lock_reader_unlock (GRWLock *m) { REAL (g_rw_lock_reader_unlock); __tsan_release (m); real (m); }
void g_cond_wait (GCond *c, GMutex *m) { REAL (g_cond_wait); __tsan_release (m); real (c, m); __tsan_acquire (m); }
gboolean g_cond_wait_until (GCond *c, GMutex *m, gint64 t) { REAL (g_cond_wait_until); __tsan_release (m); gboolean r = real (c, m, t); __tsan_acquire (m); return r; }
void g_async_queue_push (GAsyncQueue *q, gpointer d) { REAL (g_async_queue_push); __tsan_release (q); real (q, d); }
gpointer g_async_queue_pop (GAsyncQueue *q) { REAL (g_async_queue_pop); gpointer r = real (q); __tsan_acquire (q); return r; }
gpointer g_async_queue_try_pop (GAsyncQueue *q) { REAL (g_async_queue_try_pop); gpointer r = real (q); __tsan_acquire (q); return r; }
gpointer g_async_queue_timeout_pop (GAsyncQueue *q, guint64 t) { REAL (g_async_queue_timeout_pop); gpointer r = real (q, t); __tsan_acquire (q); return r; }
void g_object_unref (gpointer o) { REAL (g_object_unref); __tsan_release (o); __tsan_acquire (o); real (o); }

guint g_source_attach (GSource *s, GMainContext *c) { REAL (g_source_attach); __tsan_release (s); return real (s, c); }
void g_source_destroy (GSource *s) { REAL (g_source_destroy); __tsan_release (s); real (s); }

typedef struct { GSourceFunc func; gpointer data; GDestroyNotify notify; GSource *source; } Wrap;
static gboolean wrap_cb (gpointer p) { Wrap *w = p; __tsan_acquire (w->source); return w->func (w->data); }
static void wrap_free (gpointer p) { Wrap *w = p; __tsan_acquire (w->source); if (w->notify) w->notify (w->data); g_free (w); }
void g_source_set_callback (GSource *s, GSourceFunc f, gpointer d, GDestroyNotify n)
{
  REAL (g_source_set_callback);
  Wrap *w;
  if (f == NULL || (s->source_funcs != &g_idle_funcs && s->source_funcs != &g_timeout_funcs)) { real (s, f, d, n); return; }
  w = g_new0 (Wrap, 1);
  w->func = f; w->data = d; w->notify = n; w->source = s;
  real (s, wrap_cb, w, wrap_free);
}

/* GTask's thread pool hands the task over through GLib's own queue: what
 * the caller set up before g_task_run_in_thread() happens before the
 * thread function. */
#define TASK_FUNC_KEY "tsan-glib-task-func"
static void
task_wrap (GTask *t, gpointer s, gpointer d, GCancellable *c)
{
  GTaskThreadFunc f;
  __tsan_acquire (t);
  f = (GTaskThreadFunc) g_object_get_data (G_OBJECT (t), TASK_FUNC_KEY);
  f (t, s, d, c);
}
void g_task_run_in_thread (GTask *t, GTaskThreadFunc f)
{
  REAL (g_task_run_in_thread);
  g_object_set_data (G_OBJECT (t), TASK_FUNC_KEY, (gpointer) f);
  __tsan_release (t);
  real (t, task_wrap);
}
void g_task_run_in_thread_sync (GTask *t, GTaskThreadFunc f)
{
  REAL (g_task_run_in_thread_sync);
  g_object_set_data (G_OBJECT (t), TASK_FUNC_KEY, (gpointer) f);
  __tsan_release (t);
  real (t, task_wrap);
}
