// The one helper the stubs share: WB_TODO marks a body the learner has to write.
//
//   bool try_pop(T& out) {
//     // TODO: take the oldest item if there is one; never block.
//     WB_TODO("bounded_queue::try_pop", out);
//   }
//
// It throws wb::not_implemented, whose message names the member and the notes to read, so
// every test of an untouched stub fails at once with that message. The extra arguments are
// only "used" so that a stub compiles without unused-parameter warnings.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace wb {

class not_implemented : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

namespace detail {

// exercises/04_producer_consumer/bounded_queue.hpp -> notes/04_producer_consumer.md
inline std::string notes_for(std::string_view file) {
  const auto slash = file.find_last_of('/');
  if (slash == std::string_view::npos) return "notes/README.md";
  const auto dir = file.substr(0, slash);
  const auto topic = dir.substr(dir.find_last_of('/') + 1);
  return "notes/" + std::string(topic) + ".md";
}

template <class... Unused>
[[noreturn]] void todo(std::string_view member, std::string_view file, int line, const Unused&...) {
  throw not_implemented("not implemented yet: " + std::string(member) + " (" + std::string(file) +
                        ":" + std::to_string(line) + "); the contract is in its doc comment, " +
                        "the background in " + notes_for(file));
}

}  // namespace detail
}  // namespace wb

#define WB_TODO(member, ...) ::wb::detail::todo(member, __FILE__, __LINE__ __VA_OPT__(, ) __VA_ARGS__)
