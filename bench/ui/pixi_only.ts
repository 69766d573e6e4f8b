/** PixiJS's cost in bytes: an entry that pulls in what the Pixi renderer uses, bundled alone. */
import { Application, Graphics, Sprite, Text } from "pixi.js";
Object.assign(globalThis, { pixi: { Application, Graphics, Sprite, Text } });
