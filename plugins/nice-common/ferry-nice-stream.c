/* ferry-nice-stream.c: the GIOStream of a libnice channel
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What the core gets from the ice and turn transports: blocking reads and
 * writes from any thread, served by the channel's rings (see
 * ferry-nice-channel.c). The types get per-module names, see
 * ferry-nice-common.h.
 */
#include "config.h"

#include "ferry-nice-channel-private.h"

typedef struct {
  GInputStream      parent_instance;
  FerryNiceChannel *channel;
} FerryNiceInputStream;

typedef struct {
  GInputStreamClass parent_class;
} FerryNiceInputStreamClass;

typedef struct {
  GOutputStream     parent_instance;
  FerryNiceChannel *channel;
} FerryNiceOutputStream;

typedef struct {
  GOutputStreamClass parent_class;
} FerryNiceOutputStreamClass;

typedef struct {
  GIOStream         parent_instance;
  FerryNiceChannel *channel;
  GInputStream     *input;
  GOutputStream    *output;
} FerryNiceStream;

typedef struct {
  GIOStreamClass parent_class;
} FerryNiceStreamClass;

static gpointer input_parent_class;
static gpointer output_parent_class;
static gpointer stream_parent_class;

static GType ferry_nice_input_stream_get_type  (void);
static GType ferry_nice_output_stream_get_type (void);

static char *
type_name (const char *suffix)
{
  return g_strconcat ("Ferry", ferry_nice_type_prefix, suffix, NULL);
}

static gssize
input_read (GInputStream  *stream,
            void          *buffer,
            gsize          count,
            GCancellable  *cancellable,
            GError       **error)
{
  return _ferry_nice_channel_read (((FerryNiceInputStream *) stream)->channel, buffer, count,
                       cancellable, error);
}

static void
input_finalize (GObject *object)
{
  _ferry_nice_channel_unref (((FerryNiceInputStream *) object)->channel);
  G_OBJECT_CLASS (input_parent_class)->finalize (object);
}

static void
input_class_init (gpointer klass,
                  gpointer class_data)
{
  input_parent_class = g_type_class_peek_parent (klass);
  G_OBJECT_CLASS (klass)->finalize = input_finalize;
  G_INPUT_STREAM_CLASS (klass)->read_fn = input_read;
}

static GType
ferry_nice_input_stream_get_type (void)
{
  static gsize type = 0;

  if (g_once_init_enter (&type))
    {
      g_autofree char *name = type_name ("NiceInputStream");
      GType t = g_type_register_static_simple (G_TYPE_INPUT_STREAM, g_intern_string (name),
                                               sizeof (FerryNiceInputStreamClass),
                                               input_class_init,
                                               sizeof (FerryNiceInputStream),
                                               NULL, G_TYPE_FLAG_FINAL);
      g_once_init_leave (&type, t);
    }
  return type;
}

static gssize
output_write (GOutputStream  *stream,
              const void     *buffer,
              gsize           count,
              GCancellable   *cancellable,
              GError        **error)
{
  return _ferry_nice_channel_write (((FerryNiceOutputStream *) stream)->channel, buffer, count,
                        cancellable, error);
}

static void
output_finalize (GObject *object)
{
  _ferry_nice_channel_unref (((FerryNiceOutputStream *) object)->channel);
  G_OBJECT_CLASS (output_parent_class)->finalize (object);
}

static void
output_class_init (gpointer klass,
                   gpointer class_data)
{
  output_parent_class = g_type_class_peek_parent (klass);
  G_OBJECT_CLASS (klass)->finalize = output_finalize;
  G_OUTPUT_STREAM_CLASS (klass)->write_fn = output_write;
}

static GType
ferry_nice_output_stream_get_type (void)
{
  static gsize type = 0;

  if (g_once_init_enter (&type))
    {
      g_autofree char *name = type_name ("NiceOutputStream");
      GType t = g_type_register_static_simple (G_TYPE_OUTPUT_STREAM, g_intern_string (name),
                                               sizeof (FerryNiceOutputStreamClass),
                                               output_class_init,
                                               sizeof (FerryNiceOutputStream),
                                               NULL, G_TYPE_FLAG_FINAL);
      g_once_init_leave (&type, t);
    }
  return type;
}

static GInputStream *
stream_get_input_stream (GIOStream *io)
{
  return ((FerryNiceStream *) io)->input;
}

static GOutputStream *
stream_get_output_stream (GIOStream *io)
{
  return ((FerryNiceStream *) io)->output;
}

/* Blocked readers and writers on other threads are woken with an error
 * (the child streams are not closed one by one: a pending read would make
 * that fail). */
static gboolean
stream_close (GIOStream     *io,
              GCancellable  *cancellable,
              GError       **error)
{
  _ferry_nice_channel_close (((FerryNiceStream *) io)->channel, cancellable);
  return TRUE;
}

static void
stream_finalize (GObject *object)
{
  FerryNiceStream *self = (FerryNiceStream *) object;

  g_clear_object (&self->input);
  g_clear_object (&self->output);
  _ferry_nice_channel_unref (self->channel);
  G_OBJECT_CLASS (stream_parent_class)->finalize (object);
}

static void
stream_class_init (gpointer klass,
                   gpointer class_data)
{
  stream_parent_class = g_type_class_peek_parent (klass);
  G_OBJECT_CLASS (klass)->finalize = stream_finalize;
  G_IO_STREAM_CLASS (klass)->get_input_stream = stream_get_input_stream;
  G_IO_STREAM_CLASS (klass)->get_output_stream = stream_get_output_stream;
  G_IO_STREAM_CLASS (klass)->close_fn = stream_close;
}

GType
_ferry_nice_stream_get_type (void)
{
  static gsize type = 0;

  if (g_once_init_enter (&type))
    {
      g_autofree char *name = type_name ("NiceStream");
      GType t = g_type_register_static_simple (G_TYPE_IO_STREAM, g_intern_string (name),
                                               sizeof (FerryNiceStreamClass),
                                               stream_class_init,
                                               sizeof (FerryNiceStream),
                                               NULL, G_TYPE_FLAG_FINAL);
      g_once_init_leave (&type, t);
    }
  return type;
}

GIOStream *
_ferry_nice_channel_open_stream (FerryNiceChannel *channel)
{
  FerryNiceStream *stream;
  FerryNiceInputStream *input;
  FerryNiceOutputStream *output;

  g_return_val_if_fail (_ferry_nice_channel_claim_stream (channel), NULL);

  input = g_object_new (ferry_nice_input_stream_get_type (), NULL);
  input->channel = _ferry_nice_channel_ref (channel);
  output = g_object_new (ferry_nice_output_stream_get_type (), NULL);
  output->channel = _ferry_nice_channel_ref (channel);

  stream = g_object_new (_ferry_nice_stream_get_type (), NULL);
  stream->channel = _ferry_nice_channel_ref (channel);
  stream->input = G_INPUT_STREAM (input);
  stream->output = G_OUTPUT_STREAM (output);

  return G_IO_STREAM (stream);
}
