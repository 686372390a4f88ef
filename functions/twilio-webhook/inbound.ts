// Twilio's inbound message webhook (SMS and WhatsApp), parsed from its form
// fields into what we store.

import { z } from 'zod';

export interface InboundMessage {
  channel: 'sms' | 'whatsapp';
  /** The sender in E.164 form, e.g. +14155550123. */
  address: string;
  messageSid: string;
  body: string;
  /** WhatsApp's profile name of the sender, when given. */
  profileName: string | null;
  media: { url: string; contentType: string | null }[];
}

const E164 = /^\+[1-9]\d{6,14}$/;

const fields = z.object({
  MessageSid: z.string().regex(/^[A-Z]{2}[0-9a-fA-F]{32}$/, 'must be a Twilio message SID'),
  From: z.string().min(1),
  Body: z.string().max(1600).default(''),
  NumMedia: z.coerce.number().int().min(0).max(10).default(0),
  ProfileName: z.string().max(200).optional(),
});

/** Stored text for a message without text (messages always have a body). */
function describeEmpty(attachments: number): string {
  if (attachments === 0) return '[empty message]';
  return `[${attachments} attachment${attachments > 1 ? 's' : ''}]`;
}

export type ParseResult = { ok: true; message: InboundMessage } | { ok: false; problem: string };

export function parseInbound(params: URLSearchParams): ParseResult {
  const result = fields.safeParse(Object.fromEntries(params));
  if (!result.success) {
    return {
      ok: false,
      problem: result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    };
  }
  const { MessageSid, From, Body, NumMedia, ProfileName } = result.data;
  const whatsapp = From.startsWith('whatsapp:');
  const address = whatsapp ? From.slice('whatsapp:'.length) : From;
  if (!E164.test(address)) return { ok: false, problem: `From: ${From} is not a phone number in E.164 form` };
  const media = Array.from({ length: NumMedia }, (_, i) => ({
    url: params.get(`MediaUrl${i}`) ?? '',
    contentType: params.get(`MediaContentType${i}`),
  })).filter((item) => item.url !== '');
  return {
    ok: true,
    message: {
      channel: whatsapp ? 'whatsapp' : 'sms',
      address,
      messageSid: MessageSid,
      body: Body.trim() !== '' ? Body : describeEmpty(media.length),
      profileName: ProfileName ?? null,
      media,
    },
  };
}
