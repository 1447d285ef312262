// Placeholder: replaced by the KMS emulator.
export default {
  async fetch(): Promise<Response> {
    return new Response("not implemented", { status: 501 });
  },
};
