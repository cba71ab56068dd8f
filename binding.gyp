{
  "target_defaults": {
    "cflags!": ["-fno-exceptions"],
    "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-std=c++17"],
    "cflags": ["-O3", "-fPIC", "-fno-math-errno"],
    "cflags_cc": ["-std=c++20", "-O3", "-fPIC", "-fno-math-errno"],
    "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
    "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"]
  },
  "targets": [
    {
      "target_name": "gradreg_cpu_avx2",
      "type": "static_library",
      "sources": ["native/cpu/gemm_avx2.cc"],
      "cflags_cc": ["-mavx2", "-mfma"]
    },
    {
      "target_name": "gradreg_cpu_avx512",
      "type": "static_library",
      "sources": ["native/cpu/gemm_avx512.cc", "native/cpu/random_avx512.cc", "native/cpu/winograd_avx512.cc"],
      "cflags_cc": ["-mavx512f", "-mavx512vl", "-mavx512bw", "-mavx512dq", "-mavx2", "-mfma"]
    },
    {
      "target_name": "gradreg_cpu_isa_avx2",
      "type": "static_library",
      "sources": ["native/cpu/batchnorm_avx2.cc", "native/cpu/optim_avx2.cc"],
      "cflags_cc": ["-mavx2", "-mfma", "-ffp-contract=off"]
    },
    {
      "target_name": "gradreg_cpu_isa_avx512",
      "type": "static_library",
      "sources": ["native/cpu/batchnorm_avx512.cc", "native/cpu/optim_avx512.cc"],
      "cflags_cc": ["-mavx512f", "-mavx512vl", "-mavx512bw", "-mavx512dq", "-mavx2", "-mfma", "-ffp-contract=off"]
    },
    {
      "target_name": "gradreg_cpu",
      "dependencies": ["gradreg_cpu_avx2", "gradreg_cpu_avx512", "gradreg_cpu_isa_avx2", "gradreg_cpu_isa_avx512"],
      "sources": [
        "native/cpu/addon.cc",
        "native/cpu/threadpool.cc",
        "native/cpu/gemm.cc",
        "native/cpu/matmul.cc",
        "native/cpu/elementwise.cc",
        "native/cpu/reduce.cc",
        "native/cpu/layout.cc",
        "native/cpu/pool.cc",
        "native/cpu/batchnorm.cc",
        "native/cpu/softmax.cc",
        "native/cpu/optim.cc",
        "native/cpu/conv.cc",
        "native/cpu/winograd.cc"
      ],
      "ldflags": ["-pthread"]
    }
  ]
}
