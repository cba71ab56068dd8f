// Generated from src/backends/opcodes.ts by `npx tsx scripts/gen-opcodes.ts`: do not edit.

// DType
const kFloat32: u32 = 0u;
const kFloat64: u32 = 1u;
const kInt32: u32 = 2u;

// UnaryOp
const kNeg: u32 = 0u;
const kExp: u32 = 1u;
const kLog: u32 = 2u;
const kSqrt: u32 = 3u;
const kRsqrt: u32 = 4u;
const kReciprocal: u32 = 5u;
const kAbs: u32 = 6u;
const kSquare: u32 = 7u;
const kRelu: u32 = 8u;
const kLeakyRelu: u32 = 9u;
const kLeakyReluGrad: u32 = 10u;
const kSigmoid: u32 = 11u;
const kTanh: u32 = 12u;
const kSoftplus: u32 = 13u;
const kSign: u32 = 14u;
const kSin: u32 = 15u;
const kCos: u32 = 16u;

// BinaryOp
const kAdd: u32 = 0u;
const kSub: u32 = 1u;
const kMul: u32 = 2u;
const kDiv: u32 = 3u;
const kPow: u32 = 4u;
const kMaximum: u32 = 5u;
const kMinimum: u32 = 6u;
const kEq: u32 = 7u;
const kNe: u32 = 8u;
const kLt: u32 = 9u;
const kLe: u32 = 10u;
const kGt: u32 = 11u;
const kGe: u32 = 12u;

// ReduceOp
const kSum: u32 = 0u;
const kMax: u32 = 1u;
const kMin: u32 = 2u;

// ArgReduceOp
const kArgmax: u32 = 0u;
const kArgmin: u32 = 1u;

// RandomKind
const kUniform: u32 = 0u;
const kNormal: u32 = 1u;
const kBernoulli: u32 = 2u;

// UpdateRule
const kSgd: u32 = 0u;
const kMomentum: u32 = 1u;
const kNesterov: u32 = 2u;
const kAdagrad: u32 = 3u;
const kRmsprop: u32 = 4u;
const kAdam: u32 = 5u;
