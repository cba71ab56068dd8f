// Generated from src/backends/opcodes.ts by `npx tsx scripts/gen-opcodes.ts`: do not edit.
#pragma once

namespace gr {

enum DType : int { kFloat32 = 0, kFloat64 = 1, kInt32 = 2, kDTypeCount = 3 };
enum UnaryOp : int { kNeg = 0, kExp = 1, kLog = 2, kSqrt = 3, kRsqrt = 4, kReciprocal = 5, kAbs = 6, kSquare = 7, kRelu = 8, kLeakyRelu = 9, kLeakyReluGrad = 10, kSigmoid = 11, kTanh = 12, kSoftplus = 13, kSign = 14, kSin = 15, kCos = 16, kUnaryOpCount = 17 };
enum BinaryOp : int { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3, kPow = 4, kMaximum = 5, kMinimum = 6, kEq = 7, kNe = 8, kLt = 9, kLe = 10, kGt = 11, kGe = 12, kBinaryOpCount = 13 };
enum ReduceOp : int { kSum = 0, kMax = 1, kMin = 2, kReduceOpCount = 3 };
enum ArgReduceOp : int { kArgmax = 0, kArgmin = 1, kArgReduceOpCount = 2 };
enum RandomKind : int { kUniform = 0, kNormal = 1, kBernoulli = 2, kRandomKindCount = 3 };
enum UpdateRule : int { kSgd = 0, kMomentum = 1, kNesterov = 2, kAdagrad = 3, kRmsprop = 4, kAdam = 5, kUpdateRuleCount = 6 };

}  // namespace gr
