#pragma once
// Strong types for values that must not be mixed up at module boundaries: an offset is not a
// partition index, a producer id is not an epoch.

#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>

namespace sluice {

template <class T, class Tag>
class named_type {
 public:
  using value_type = T;
  constexpr named_type() = default;
  constexpr explicit named_type(T v) : v_(v) {}
  constexpr T operator()() const { return v_; }
  constexpr T value() const { return v_; }
  constexpr auto operator<=>(const named_type&) const = default;
  friend std::ostream& operator<<(std::ostream& os, const named_type& n) { return os << n.v_; }

 private:
  T v_{};
};

namespace model {
using offset = named_type<int64_t, struct offset_tag>;
using partition_id = named_type<int32_t, struct partition_id_tag>;
using producer_id = named_type<int64_t, struct producer_id_tag>;
using producer_epoch = named_type<int16_t, struct producer_epoch_tag>;
using timestamp_ms = named_type<int64_t, struct timestamp_tag>;

inline constexpr timestamp_ms no_timestamp{-1};
}  // namespace model

}  // namespace sluice

template <class T, class Tag>
struct std::hash<sluice::named_type<T, Tag>> {
  size_t operator()(const sluice::named_type<T, Tag>& n) const noexcept {
    return std::hash<T>{}(n.value());
  }
};
