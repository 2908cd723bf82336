/* ferry-doctor.h: what `ferry doctor` found, check by check
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "ferry-tool.h"

G_BEGIN_DECLS

typedef struct {
  char     *name;
  char     *address;
  gboolean  multicast;     /* a multicast to the group came back */
  char     *error;
} InterfaceCheck;

typedef struct {
  char     *url;
  gboolean  reachable;
  gint64    rtt_ms;
  gboolean  put;
  gboolean  get;           /* the value put came back */
  char     *error;
} ProxyCheck;

typedef struct {
  char     *server;
  char     *ip;            /* the server's address asked (NULL: unresolved) */
  gboolean  answered;
  gint64    rtt_ms;
  char     *mapped;        /* this device, as the server sees it */
  char     *other;         /* the server's other address (RFC 5780) */
  char     *other_ip;
  char     *error;
} StunCheck;

typedef struct {
  char     *server;        /* HOST:PORT (udp|tcp) */
  gboolean  tcp;
  gboolean  answered;
  gboolean  ok;            /* a relay was granted */
  char     *relayed;
  char     *mapped;
  guint     code;          /* the refusal: ERROR-CODE and reason */
  char     *reason;
  char     *error;         /* no answer, or a local failure */
} TurnCheck;

typedef struct {
  FerryTool  *tool;
  guint       timeout_ms;
  GPtrArray  *turn_urls;
  GPtrArray  *interfaces;  /* InterfaceCheck */
  GPtrArray  *proxies;     /* ProxyCheck */
  GPtrArray  *stuns;       /* StunCheck */
  GPtrArray  *turns;       /* TurnCheck */
  const char *mapping;     /* none, endpoint-independent, endpoint-dependent, unknown */
  char       *public_address;
  gboolean    udp_works;
  const char *udp;         /* works, blocked, unknown */
  const char *verdict_code;
  char       *verdict;
} Doctor;

/* ferry-doctor-dht.c */
void doctor_check_dht   (Doctor *doctor);

/* ferry-doctor-report.c */
void doctor_judge       (Doctor *doctor);
void doctor_print_text  (Doctor *doctor);
void doctor_print_json  (Doctor *doctor);

G_END_DECLS
