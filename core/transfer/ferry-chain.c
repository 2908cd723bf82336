/* ferry-chain.c: the chain of a transfer as segments
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "ferry-chain-private.h"
#include "ferry-enum-types.h"

/**
 * FerryChainSegment:
 *
 * One link of the chain that carries a transfer: the signaling that carried
 * the offer, the transport that carries the bytes, or the secure channel
 * over it. [method@Ferry.Transfer.get_chain_segments] lists them in that
 * order, and [property@Ferry.Transfer:chain] is their display strings
 * joined by ` → `.
 */
struct _FerryChainSegment
{
  GObject                parent_instance;

  FerryChainSegmentKind  kind;
  char                  *name;
  char                  *details;
  char                 **addresses;
  guint64                bytes;
  guint64                start;    /* transport: the transfer's bytes when
                                      the path began to carry them */
  gboolean               closed;   /* transport: a later path took over */
};

G_DEFINE_FINAL_TYPE (FerryChainSegment, ferry_chain_segment, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_KIND,
  PROP_NAME,
  PROP_DETAILS,
  PROP_ADDRESSES,
  PROP_BYTES,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

static void
ferry_chain_segment_finalize (GObject *object)
{
  FerryChainSegment *self = FERRY_CHAIN_SEGMENT (object);

  g_free (self->name);
  g_free (self->details);
  g_strfreev (self->addresses);

  G_OBJECT_CLASS (ferry_chain_segment_parent_class)->finalize (object);
}

static void
ferry_chain_segment_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  FerryChainSegment *self = FERRY_CHAIN_SEGMENT (object);

  switch (prop_id)
    {
    case PROP_KIND:
      g_value_set_enum (value, self->kind);
      break;
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_DETAILS:
      g_value_set_string (value, self->details);
      break;
    case PROP_ADDRESSES:
      g_value_set_boxed (value, self->addresses);
      break;
    case PROP_BYTES:
      g_value_set_uint64 (value, self->bytes);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ferry_chain_segment_class_init (FerryChainSegmentClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = ferry_chain_segment_finalize;
  object_class->get_property = ferry_chain_segment_get_property;

  /**
   * FerryChainSegment:kind:
   *
   * What the segment is.
   */
  props[PROP_KIND] =
    g_param_spec_enum ("kind", NULL, NULL, FERRY_TYPE_CHAIN_SEGMENT_KIND,
                       FERRY_CHAIN_SEGMENT_SIGNALING, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * FerryChainSegment:name:
   *
   * The plugin's feature name (e.g. `local-broadcast`, `lan`), or the
   * channel's protocol and cipher (e.g. `tls1.3/aes-256-gcm`).
   */
  props[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * FerryChainSegment:details:
   *
   * What the plugin says of the path, e.g. `tcp 127.0.0.1:41234` or
   * `udp, host↔host`, or %NULL.
   */
  props[PROP_DETAILS] =
    g_param_spec_string ("details", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * FerryChainSegment:addresses:
   *
   * The socket addresses (`HOST:PORT`) of the peer known for the segment:
   * where the signaling reached the device, or the transport's remote end.
   */
  props[PROP_ADDRESSES] =
    g_param_spec_boxed ("addresses", NULL, NULL, G_TYPE_STRV, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * FerryChainSegment:bytes:
   *
   * The bytes of file data the segment carried so far; 0 for the
   * signaling, which carries only messages.
   */
  props[PROP_BYTES] =
    g_param_spec_uint64 ("bytes", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
ferry_chain_segment_init (FerryChainSegment *self)
{
}

/* Whether @text is HOST:PORT (IPv6 in brackets) with a numeric host. */
static gboolean
is_socket_address (const char *text)
{
  const char *colon = strrchr (text, ':');
  g_autofree char *host = NULL;
  g_autoptr(GInetAddress) address = NULL;
  char *end = NULL;
  guint64 port;

  if (colon == NULL || colon == text)
    return FALSE;
  port = g_ascii_strtoull (colon + 1, &end, 10);
  if (end == colon + 1 || *end != '\0' || port == 0 || port > 65535)
    return FALSE;
  if (text[0] == '[' && colon[-1] == ']')
    host = g_strndup (text + 1, colon - text - 2);
  else
    host = g_strndup (text, colon - text);
  address = g_inet_address_new_from_string (host);
  return address != NULL;
}

static char **
find_addresses (const char *text)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) words = NULL;

  if (text != NULL)
    {
      g_autofree char *spaced = NULL;
      GString *copy = g_string_new (text);

      /* "↔" and the separators of the plugins' descriptions part words. */
      g_string_replace (copy, "↔", " ", 0);
      spaced = g_string_free (copy, FALSE);
      words = g_strsplit_set (spaced, " ,;()", -1);
      for (guint i = 0; words[i] != NULL; i++)
        if (is_socket_address (words[i]))
          g_strv_builder_add (builder, words[i]);
    }
  return g_strv_builder_end (builder);
}

static FerryChainSegment *
segment_new (FerryChainSegmentKind  kind,
             const char            *text,
             const char            *route)
{
  FerryChainSegment *self = g_object_new (FERRY_TYPE_CHAIN_SEGMENT, NULL);
  const char *open = strstr (text, " (");
  gsize len = strlen (text);

  self->kind = kind;
  if (kind != FERRY_CHAIN_SEGMENT_CHANNEL && open != NULL && len > 0 && text[len - 1] == ')')
    {
      self->name = g_strndup (text, open - text);
      self->details = g_strndup (open + 2, text + len - 1 - (open + 2));
    }
  else
    self->name = g_strdup (text);

  if (kind == FERRY_CHAIN_SEGMENT_SIGNALING)
    self->addresses = find_addresses (route);
  else
    self->addresses = find_addresses (self->details);
  return self;
}

#define PATH_SEPARATOR " ⇒ "

/* A transport path of a chain text; one that gave way to a later path
 * ends with ` [N bytes]`, what it carried. */
static FerryChainSegment *
transport_segment_new (const char *text,
                       guint64     start)
{
  const char *bracket = strrchr (text, '[');
  g_autofree char *bare = NULL;
  FerryChainSegment *self;
  guint64 bytes = 0;
  char *end = NULL;

  if (bracket != NULL && bracket > text && bracket[-1] == ' ' && g_str_has_suffix (bracket, " bytes]"))
    {
      bytes = g_ascii_strtoull (bracket + 1, &end, 10);
      if (end != NULL && g_str_equal (end, " bytes]"))
        bare = g_strndup (text, bracket - 1 - text);
    }
  self = segment_new (FERRY_CHAIN_SEGMENT_TRANSPORT, bare ? bare : text, NULL);
  self->start = start;
  if (bare != NULL)
    {
      self->closed = TRUE;
      self->bytes = bytes;
    }
  return self;
}

/* The transport part of a chain text: one path, or several that took
 * over from each other (`PATH [N bytes] ⇒ PATH`). */
static void
add_transports (GPtrArray  *segments,
                const char *text)
{
  g_auto(GStrv) paths = g_strsplit (text, PATH_SEPARATOR, -1);
  guint64 start = 0;

  for (guint i = 0; paths[i] != NULL; i++)
    {
      FerryChainSegment *segment = transport_segment_new (paths[i], start);

      start += segment->bytes;
      g_ptr_array_add (segments, segment);
    }
}

/* The segments of a chain text, `SIGNALING → TRANSPORT (DETAILS) →
 * CHANNEL`; @route is where the signaling reached the device, if known. */
GPtrArray *
_ferry_chain_parse (const char *chain,
                    const char *route)
{
  GPtrArray *segments = g_ptr_array_new_with_free_func (g_object_unref);
  g_auto(GStrv) parts = NULL;
  guint n;

  if (chain == NULL || *chain == '\0')
    return segments;

  parts = g_strsplit (chain, " → ", -1);
  n = g_strv_length (parts);
  g_ptr_array_add (segments, segment_new (FERRY_CHAIN_SEGMENT_SIGNALING, parts[0], route));
  if (n == 2)
    add_transports (segments, parts[1]);
  else if (n > 2)
    {
      /* A transport whose description holds the separator keeps it. */
      g_autofree char *last = g_steal_pointer (&parts[n - 1]);
      g_autofree char *middle = g_strjoinv (" → ", parts + 1);

      add_transports (segments, middle);
      g_ptr_array_add (segments, segment_new (FERRY_CHAIN_SEGMENT_CHANNEL, last, NULL));
    }
  return segments;
}

/* The display string of a list of segments. */
char *
_ferry_chain_to_string (GListModel *segments)
{
  GString *text = g_string_new (NULL);
  guint n = g_list_model_get_n_items (segments);

  FerryChainSegmentKind previous = FERRY_CHAIN_SEGMENT_SIGNALING;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(FerryChainSegment) segment = g_list_model_get_item (segments, i);
      g_autofree char *one = ferry_chain_segment_to_string (segment);
      gboolean next_path = previous == FERRY_CHAIN_SEGMENT_TRANSPORT &&
                           segment->kind == FERRY_CHAIN_SEGMENT_TRANSPORT;

      g_string_append_printf (text, "%s%s", i == 0 ? "" : next_path ? PATH_SEPARATOR : " → ", one);
      if (segment->closed)
        g_string_append_printf (text, " [%" G_GUINT64_FORMAT " bytes]", segment->bytes);
      previous = segment->kind;
    }
  return g_string_free (text, n == 0);
}

/* @bytes: the transfer's; a transport path counts those since it began. */
void
_ferry_chain_segment_set_bytes (FerryChainSegment *self,
                                guint64            bytes)
{
  if (self->kind == FERRY_CHAIN_SEGMENT_SIGNALING || self->closed)
    return;
  bytes = bytes > self->start ? bytes - self->start : 0;
  if (self->bytes == bytes)
    return;
  self->bytes = bytes;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_BYTES]);
}

/* A later path takes over from the transport @self, which carried the
 * transfer's bytes up to @bytes. */
void
_ferry_chain_segment_close (FerryChainSegment *self,
                            guint64            bytes)
{
  _ferry_chain_segment_set_bytes (self, bytes);
  self->closed = TRUE;
}

/* The transport moved to the path @transport when the transfer was at
 * @switched bytes (it is at @bytes now): the last transport segment of
 * @segments keeps what it carried, a new one after it counts from there.
 * Returns the new chain text, or NULL when nothing changed. */
char *
_ferry_chain_add_path (GListStore *segments,
                       const char *transport,
                       guint64     switched,
                       guint64     bytes)
{
  GListModel *model = G_LIST_MODEL (segments);
  g_autoptr(FerryChainSegment) previous = NULL;
  g_autoptr(FerryChainSegment) path = NULL;
  g_autofree char *previous_text = NULL;
  guint last = 0;

  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(FerryChainSegment) segment = g_list_model_get_item (model, i);

      if (segment->kind == FERRY_CHAIN_SEGMENT_TRANSPORT)
        {
          g_set_object (&previous, segment);
          last = i;
        }
    }
  if (previous == NULL)
    return NULL;
  previous_text = ferry_chain_segment_to_string (previous);
  if (g_str_equal (previous_text, transport))
    return NULL;

  _ferry_chain_segment_close (previous, switched);
  path = _ferry_chain_segment_new_path (transport, switched);
  _ferry_chain_segment_set_bytes (path, bytes);
  g_list_store_insert (segments, last + 1, path);
  return _ferry_chain_to_string (model);
}

/* A transport path that carries the transfer's bytes from @start on. */
FerryChainSegment *
_ferry_chain_segment_new_path (const char *text,
                               guint64     start)
{
  FerryChainSegment *self = segment_new (FERRY_CHAIN_SEGMENT_TRANSPORT, text, NULL);

  self->start = start;
  return self;
}

/**
 * ferry_chain_segment_get_kind:
 * @self: a #FerryChainSegment
 *
 * Gets what the segment is: signaling, transport or channel.
 *
 * Returns: the kind of segment
 */
FerryChainSegmentKind
ferry_chain_segment_get_kind (FerryChainSegment *self)
{
  g_return_val_if_fail (FERRY_IS_CHAIN_SEGMENT (self), FERRY_CHAIN_SEGMENT_SIGNALING);
  return self->kind;
}

/**
 * ferry_chain_segment_get_name:
 * @self: a #FerryChainSegment
 *
 * Gets the name of the plugin feature, or the channel's protocol and
 * cipher.
 *
 * Returns: the name
 */
const char *
ferry_chain_segment_get_name (FerryChainSegment *self)
{
  g_return_val_if_fail (FERRY_IS_CHAIN_SEGMENT (self), NULL);
  return self->name;
}

/**
 * ferry_chain_segment_get_details:
 * @self: a #FerryChainSegment
 *
 * Gets what the plugin says of the path it made.
 *
 * Returns: (nullable): the details, e.g. `tcp 127.0.0.1:41234`
 */
const char *
ferry_chain_segment_get_details (FerryChainSegment *self)
{
  g_return_val_if_fail (FERRY_IS_CHAIN_SEGMENT (self), NULL);
  return self->details;
}

/**
 * ferry_chain_segment_get_addresses:
 * @self: a #FerryChainSegment
 *
 * Gets the socket addresses of the peer known for this segment.
 *
 * Returns: (transfer none) (array zero-terminated=1): `HOST:PORT`
 *   addresses, possibly none
 */
const char * const *
ferry_chain_segment_get_addresses (FerryChainSegment *self)
{
  g_return_val_if_fail (FERRY_IS_CHAIN_SEGMENT (self), NULL);
  return (const char * const *) self->addresses;
}

/**
 * ferry_chain_segment_get_bytes:
 * @self: a #FerryChainSegment
 *
 * Gets the bytes of file data carried through this segment so far. When
 * the transport moved to another path during the transfer, the chain
 * holds one transport segment per path, each with the bytes it carried.
 *
 * Returns: the bytes carried; 0 for a signaling
 */
guint64
ferry_chain_segment_get_bytes (FerryChainSegment *self)
{
  g_return_val_if_fail (FERRY_IS_CHAIN_SEGMENT (self), 0);
  return self->bytes;
}

/**
 * ferry_chain_segment_to_string:
 * @self: a #FerryChainSegment
 *
 * Formats the segment for display: the name, then the details in
 * parentheses.
 *
 * Returns: (transfer full): the display string, e.g. `lan (tcp 127.0.0.1:41234)`
 */
char *
ferry_chain_segment_to_string (FerryChainSegment *self)
{
  g_return_val_if_fail (FERRY_IS_CHAIN_SEGMENT (self), NULL);

  if (self->details != NULL)
    return g_strdup_printf ("%s (%s)", self->name, self->details);
  return g_strdup (self->name);
}
