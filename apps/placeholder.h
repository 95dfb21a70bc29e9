// Shared by the apps whose layer has not landed yet: parse the flags, say what is missing.
#pragma once

#include <iostream>
#include <string_view>

namespace wzp::apps {

inline int not_built_yet(std::string_view app, std::string_view needs) {
  std::cerr << app << ": " << needs << " is not built yet; see --help for the planned flags\n";
  return 3;
}

}  // namespace wzp::apps
