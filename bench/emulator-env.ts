// The environment a benchmark runs the built CLI in against the emulator: a user's minimal one, pointed at the
// emulator, with every poll delay and timeout scaled as the emulator scales AWS's time.
export function emulatorEnv(url: string, msPerSimSecond: number, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_ENDPOINT_URL: url,
    AWS_ACCESS_KEY_ID: "bench",
    AWS_SECRET_ACCESS_KEY: "bench",
    AWS_REGION: "us-east-1",
    CWS_TIME_SCALE: String(msPerSimSecond / 1000),
    ...extra,
  };
}
