#pragma once
// The ACL fields shared by CreateAcls, DescribeAcls and DeleteAcls (pattern types from v1;
// v0 knows literal names only).

#include "kafka/protocol/reader.h"
#include "kafka/protocol/writer.h"
#include "security/acl.h"

namespace sluice::kafka {

inline security::acl_filter read_acl_filter(reader& in, int16_t version) {
  security::acl_filter f;
  f.type = static_cast<security::resource_type>(in.i8());
  f.name = in.nullable_string();
  f.pattern =
      version >= 1 ? static_cast<security::pattern_type>(in.i8()) : security::pattern_type::literal;
  f.principal = in.nullable_string();
  f.host = in.nullable_string();
  f.operation = static_cast<security::acl_operation>(in.i8());
  f.permission = static_cast<security::acl_permission>(in.i8());
  f.kafka_types_only = true;
  return f;
}

// A filter that can select nothing meaningful (unknown codes) is refused, as Kafka does.
inline bool valid_filter(const security::acl_filter& f) {
  using namespace security;
  auto in = [](int v, int lo, int hi) { return v >= lo && v <= hi; };
  return in(static_cast<int>(f.type), 1, 7) && in(static_cast<int>(f.pattern), 1, 4) &&
         in(static_cast<int>(f.operation), 1, 14) && in(static_cast<int>(f.permission), 1, 3);
}

}  // namespace sluice::kafka
