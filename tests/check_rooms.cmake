# The tree's rooms and the arrows allowed between them (README "Architecture"):
#   paradnn/, models/, analysis/  -> nothing in platforms/ or runners/
#   platforms/                    -> not runners/; a backend's rooms not another backend's
#   platforms/torch/              -> paradnn/ and platforms/backend.hpp only; only the registry includes it
#   platforms/model/              -> not platforms/cpu, cuda or simulated (it predicts, it does not run)
#   runners/                      -> platforms/*.hpp and platforms/model/ only, plus the lowp
#                                    micro-benchmark's one public header; never a backend's private headers
# Run: cmake -DROOT=<source dir> -P check_rooms.cmake
file(GLOB_RECURSE sources RELATIVE ${ROOT}
  ${ROOT}/paradnn/*.?pp ${ROOT}/models/*.?pp ${ROOT}/analysis/*.?pp ${ROOT}/platforms/*.?pp ${ROOT}/platforms/*.cu
  ${ROOT}/runners/*.?pp)
set(violations "")
foreach(src ${sources})
  file(STRINGS ${ROOT}/${src} includes REGEX "^#include \"")
  foreach(line ${includes})
    string(REGEX REPLACE "^#include \"([^\"]+)\".*" "\\1" inc "${line}")
    set(bad FALSE)
    if(src MATCHES "^(paradnn|models|analysis)/" AND inc MATCHES "^(platforms|runners)/")
      set(bad TRUE)
    elseif(src MATCHES "^platforms/" AND inc MATCHES "^runners/")
      set(bad TRUE)
    elseif(src MATCHES "^platforms/model/" AND inc MATCHES "^platforms/(cpu|cuda|simulated)/")
      set(bad TRUE)
    elseif(src MATCHES "^platforms/cpu/" AND inc MATCHES "^platforms/(cuda|simulated)/")
      set(bad TRUE)
    elseif(src MATCHES "^platforms/cuda/" AND inc MATCHES "^platforms/(cpu|simulated)/")
      set(bad TRUE)
    elseif(src MATCHES "^platforms/simulated/" AND inc MATCHES "^platforms/(cpu|cuda)/")
      set(bad TRUE)
    elseif(src MATCHES "^runners/" AND inc MATCHES "^platforms/(cpu|cuda|simulated)/"
           AND NOT inc STREQUAL "platforms/cpu/lowp/lowp_bench.hpp")
      set(bad TRUE)
    elseif(src MATCHES "^platforms/torch/" AND inc MATCHES "^(platforms|models)/"
           AND NOT inc MATCHES "^platforms/(backend\\.hpp|torch/)")
      set(bad TRUE)  # the torch room: core and the Backend interface only
    elseif(inc MATCHES "^platforms/torch/" AND NOT src MATCHES "^platforms/(torch/|registry\\.cpp)")
      set(bad TRUE)  # nothing but the registry reaches into the torch room
    endif()
    if(bad)
      list(APPEND violations "${src} includes ${inc}")
    endif()
  endforeach()
endforeach()
list(LENGTH sources n)
if(violations)
  string(REPLACE ";" "\n  " text "${violations}")
  message(FATAL_ERROR "arrows the rooms forbid:\n  ${text}")
endif()
message(STATUS "${n} files: every include stays within the rooms' arrows")
