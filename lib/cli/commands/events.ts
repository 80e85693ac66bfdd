import { Command, notYet } from '../command';

export const events: Command = notYet('events');
