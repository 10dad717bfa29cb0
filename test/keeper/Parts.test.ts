import { expect } from "chai";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { JsonFile, CheckpointError } from "../../src/keeper/checkpoint";
import { KeeperConfigError, loadKeeperConfig, parseShard } from "../../src/keeper/config";
import {
  LiquidationPriceIndex,
  liquidationPrice,
} from "../../src/keeper/liquidationPrices";
import { liquidationPriceFromHealth } from "../../src/protocol/preview";
import type { IndexedPosition } from "../../src/keeper/positionIndex";
import { isTransient, mapLimit, sleep } from "../../src/keeper/rpc";
import { ALREADY_DONE } from "../../src/keeper/sender";
import { statusRanges } from "../../src/keeper/flashBatchPlanner";
import { decodeHealthScan, MAX_IDS_PER_CALL, planRanges, positionGas } from "../../src/keeper/sweep";
import { Lens__factory } from "../../typechain-types";
import { MarginState, marginStateAt, WAD } from "../../src/math";

const KEY = "0x" + "11".repeat(32);
const tmp = (): string => mkdtempSync(join(tmpdir(), "keel-keeper-parts-"));

const position = (id: bigint, assets = 1): IndexedPosition => ({
  id,
  mode: assets === 1 ? 0 : 1,
  asset: assets === 1 ? "0xa" : undefined,
  collateral: Object.fromEntries(Array.from({ length: assets }, (_, i) => [`0x${i}`, 1n])),
  normDebt: 1n,
  deadline: 0n,
});

describe("keeper parts", () => {
  describe("planRanges", () => {
    it("test_planRanges_coversEveryIdOnce: covers every id once, in order, within the id and gas limits", () => {
      const ps = Array.from({ length: 2_000 }, (_, i) => position(BigInt(i * 2 + 1), 1 + (i % 3)));
      const ranges = planRanges(ps, 12_000_000);
      const covered = ps.filter((p) => ranges.some((r) => r.from <= p.id && p.id <= r.to));
      expect(covered).to.have.length(ps.length);
      for (let i = 1; i < ranges.length; i++) expect(ranges[i]!.from > ranges[i - 1]!.to).to.equal(true);
      for (const r of ranges) {
        expect(r.to - r.from + 1n <= BigInt(MAX_IDS_PER_CALL)).to.equal(true);
        const inside = ps.filter((p) => r.from <= p.id && p.id <= r.to);
        const gas = inside.reduce((g, p) => g + positionGas(p), 0);
        expect(gas).to.be.lessThan(12_000_000);
      }
    });

    it("test_planRanges_splitsAt501: puts 500 contiguous isolated ids in one call and splits at 501", () => {
      const ps = Array.from({ length: 501 }, (_, i) => position(BigInt(i + 1)));
      expect(planRanges(ps.slice(0, 500), 16_000_000)).to.deep.equal([{ from: 1n, to: 500n }]);
      expect(planRanges(ps, 16_000_000)).to.deep.equal([
        { from: 1n, to: 500n },
        { from: 501n, to: 501n },
      ]);
      expect(planRanges([], 12_000_000)).to.deep.equal([]);
    });
  });

  describe("statusRanges", () => {
    it("test_statusRanges_nearIdsJoined: ids at most 8 apart share a range of at most 183 ids; farther ids, duplicates and any order", () => {
      const contiguous = Array.from({ length: 1_000 }, (_, i) => BigInt(i + 1));
      const ranges = statusRanges(contiguous);
      expect(ranges).to.have.length(6); // ceil(1,000 / 183)
      expect(ranges[0]).to.deep.equal({ from: 1n, to: 183n });
      expect(ranges[5]).to.deep.equal({ from: 916n, to: 1_000n });
      expect(statusRanges([30n, 1n, 9n, 9n, 18n, 40n])).to.deep.equal([
        { from: 1n, to: 9n },
        { from: 18n, to: 18n },
        { from: 30n, to: 30n },
        { from: 40n, to: 40n },
      ]);
      expect(statusRanges([])).to.deep.equal([]);
    });
  });

  describe("decodeHealthScan", () => {
    const lens = Lens__factory.createInterface();
    const encode = (ids: bigint[], hf: bigint[], debt: bigint[], priced: boolean[], valued: boolean[]): string =>
      lens.encodeFunctionResult("healthScan", [[ids, hf, debt, priced, valued]]);

    it("test_decodeHealthScan_matchesTheAbi: the hand decoder reads what ethers' ABI decoder reads, empty answers included", () => {
      const n = 37;
      const ids = Array.from({ length: n }, (_, i) => BigInt(i * 3 + 1));
      const hf = ids.map((id) => (id % 5n === 0n ? 0n : WAD + id * 10n ** 15n));
      const debt = ids.map((id) => id * 10n ** 20n + 7n);
      const priced = ids.map((id) => id % 4n !== 0n);
      const valued = ids.map((id) => id % 5n !== 0n);
      const data = encode(ids, hf, debt, priced, valued);
      const abi = lens.decodeFunctionResult("healthScan", data)[0];
      const want = abi.ids.map((id: bigint, i: number) => ({ id, hf: abi.hf[i], debt: abi.debt[i], priced: abi.priced[i], valued: abi.valued[i] }));
      expect(decodeHealthScan(data)).to.deep.equal(want);
      expect(decodeHealthScan(encode([], [], [], [], []))).to.deep.equal([]);
    });

    it("test_decodeHealthScan_malformed_throws: a short or inconsistent answer is refused, not read as zeros", () => {
      const data = encode([1n, 2n], [WAD, WAD], [1n, 2n], [true, true], [true, true]);
      expect(() => decodeHealthScan(data.slice(0, data.length - 64))).to.throw(/malformed answer/);
      expect(() => decodeHealthScan("0x")).to.throw(/malformed answer/);
      // The valued array claims three entries.
      const words = data.slice(2).match(/.{64}/g)!;
      const valuedAt = 1 + Number(BigInt(`0x${words[5]}`)) / 32;
      words[valuedAt] = 3n.toString(16).padStart(64, "0");
      expect(() => decodeHealthScan(`0x${words.join("")}`)).to.throw(/different lengths/);
    });
  });

  describe("liquidation prices", () => {
    it("test_liquidationPrice_closedForm: p* = P / HF equals the closed form debt·unit / (amount·(1 − f)) to within rounding", () => {
      // 10 WETH at 3,000, f = 13.75% (2.75 × 5%), debt 20,000: HF = 30,000 × 0.8625 / 20,000 = 1.29375.
      const factor = 1375n * 10n ** 14n;
      const closed = liquidationPrice(20_000n * WAD, 10n * WAD, WAD, factor);
      const hf = (30_000n * (WAD - factor)) / 20_000n;
      const fromHealth = liquidationPriceFromHealth(3_000n * WAD, hf);
      expect(closed).to.equal(2_318_840_579_710_144_927_537n); // 2,000 / 0.8625 = 2,318.8405797101449275362…, rounded up
      expect(fromHealth - closed <= 1n && closed - fromHealth <= 1n).to.equal(true);
      expect(liquidationPrice(1n, 0n, WAD, factor)).to.equal(2n ** 256n - 1n);
    });

    it("test_unsafeAt_exactPositions: unsafeAt lists exactly the positions whose liquidation price is at or above the new price", () => {
      const index = new LiquidationPriceIndex();
      const prices = new Map([["0xa", 3_000n * WAD]]);
      index.rebuild(
        [
          { id: 1n, asset: "0xa", hf: 2n * WAD }, // p* 1,500
          { id: 2n, asset: "0xa", hf: (12n * WAD) / 10n }, // p* 2,500
          { id: 3n, asset: "0xa", hf: (15n * WAD) / 10n }, // p* 2,000
          { id: 4n, asset: "0xb", hf: WAD }, // no price: ignored
        ],
        prices,
      );
      expect(index.size).to.equal(3);
      expect(index.unsafeAt("0xA", 2_600n * WAD)).to.deep.equal([]);
      expect(index.unsafeAt("0xa", 2_500n * WAD)).to.deep.equal([2n]);
      expect(index.unsafeAt("0xa", 1_999n * WAD)).to.deep.equal([2n, 3n]);
      expect(index.unsafeAt("0xa", 1n)).to.deep.equal([2n, 3n, 1n]);
    });
  });

  it("test_marginStateAt_mirrorsEngine: marginStateAt mirrors the engine's four states", () => {
    const critical = (95n * WAD) / 100n;
    expect(marginStateAt(WAD, 0n, critical, 10n)).to.equal(MarginState.Safe);
    expect(marginStateAt(WAD, 5n, critical, 10n)).to.equal(MarginState.Safe);
    expect(marginStateAt(WAD - 1n, 0n, critical, 10n)).to.equal(MarginState.Callable);
    expect(marginStateAt(WAD - 1n, 11n, critical, 10n)).to.equal(MarginState.Called);
    expect(marginStateAt(WAD - 1n, 10n, critical, 10n)).to.equal(MarginState.Liquidatable);
    expect(marginStateAt(critical - 1n, 0n, critical, 10n)).to.equal(MarginState.Liquidatable);
  });

  describe("config", () => {
    it("test_config_flagsOverrideFile: parses flags, defaults and human units; flags override the file", () => {
      const dir = tmp();
      const file = join(dir, "keeper.json");
      writeFileSync(file, JSON.stringify({ rpc: "http://127.0.0.1:1", minProfit: "25", pokeEvery: "30 minutes", bumpAfter: "20s", batchGasLimit: 8_000_000 }));
      const c = loadKeeperConfig({ config: file, rpc: "http://127.0.0.1:8545", deployment: "d.json", shard: "1/3" }, { KEEPER_PRIVATE_KEY: KEY });
      expect([c.keeper.batchGasLimit, c.keeper.batchTargetGas]).to.deep.equal([8_000_000n, 80_000n]);
      expect(c.rpc).to.equal("http://127.0.0.1:8545");
      expect(c.keeper.minProfit).to.equal(25n * WAD);
      expect(c.keeper.pokeEvery).to.equal(1800);
      expect(c.keeper.shard).to.deep.equal({ index: 1, count: 3 });
      expect(c.sender.bumpAfterMs).to.equal(20_000);
      expect([c.dryRun, c.once, c.confirmations, c.privateKey]).to.deep.equal([false, false, 2, KEY]);
    });

    it("test_config_badInput_named: refuses bad input with the flag or field it came from", () => {
      const base = { rpc: "http://127.0.0.1:8545", deployment: "d.json" };
      const fails = (flags: object, env: NodeJS.ProcessEnv, message: string): void => {
        expect(() => loadKeeperConfig(flags, env)).to.throw(KeeperConfigError, message);
      };
      fails({ deployment: "d.json" }, { KEEPER_PRIVATE_KEY: KEY }, "--rpc <url> is required");
      fails({ rpc: base.rpc }, { KEEPER_PRIVATE_KEY: KEY }, "--deployment <file> is required");
      fails(base, {}, "KEEPER_PRIVATE_KEY is not set");
      fails(base, { KEEPER_PRIVATE_KEY: "0x1234" }, "KEEPER_PRIVATE_KEY is not a 32-byte hex private key");
      fails({ ...base, "metrics-port": "80a" }, { KEEPER_PRIVATE_KEY: KEY }, '--metrics-port: "80a" is not a whole number');
      fails({ ...base, "min-profit": "ten" }, { KEEPER_PRIVATE_KEY: KEY }, "minProfit");
      fails({ ...base, rpc: "not a url" }, { KEEPER_PRIVATE_KEY: KEY }, "rpc: Invalid url");
      const dir = tmp();
      const bad = join(dir, "bad.json");
      writeFileSync(bad, JSON.stringify({ liquidation: "always" }));
      fails({ ...base, config: bad }, { KEEPER_PRIVATE_KEY: KEY }, `--config ${bad}: liquidation`);
      writeFileSync(bad, JSON.stringify({ unknown: 1 }));
      fails({ ...base, config: bad }, { KEEPER_PRIVATE_KEY: KEY }, "Unrecognized key");
      writeFileSync(bad, JSON.stringify({ batchGasLimit: 16_777_217 }));
      fails({ ...base, config: bad }, { KEEPER_PRIVATE_KEY: KEY }, `--config ${bad}: batchGasLimit`);
      writeFileSync(bad, JSON.stringify({ batchTargetGas: 5_000 }));
      fails({ ...base, config: bad }, { KEEPER_PRIVATE_KEY: KEY }, `--config ${bad}: batchTargetGas`);
      expect(loadKeeperConfig({ ...base, "dry-run": true }, {}).privateKey).to.equal(undefined);
    });

    it("test_parseShard_iLessThanN: parseShard accepts i/n with i < n only", () => {
      expect(parseShard("0/1")).to.deep.equal({ index: 0, count: 1 });
      for (const bad of ["1/1", "2/1", "0/0", "a/b", "1"]) expect(() => parseShard(bad)).to.throw(KeeperConfigError);
    });
  });

  describe("checkpoint file", () => {
    it("test_checkpoint_roundTrip: round-trips bigints exactly and writes atomically", () => {
      const path = join(tmp(), "sub", "c.json");
      const file = new JsonFile(path, (raw) => raw as { n: bigint; xs: bigint[] });
      expect(file.read()).to.equal(undefined);
      file.write({ n: 2n ** 200n, xs: [1n, 0n] });
      expect(file.read()).to.deep.equal({ n: 2n ** 200n, xs: [1n, 0n] });
      expect(readFileSync(path, "utf8")).to.contain('"$bigint"');
    });

    it("test_checkpoint_corrupt_namesFile: a corrupt file is a CheckpointError naming the file", () => {
      const path = join(tmp(), "c.json");
      writeFileSync(path, "{ half");
      expect(() => new JsonFile(path, (raw) => raw).read()).to.throw(CheckpointError, path);
    });
  });

  it("test_mapLimit_boundedInOrder: mapLimit keeps at most `limit` calls in flight and returns results in order", async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3, 0, 6], 3, async (x) => {
      peak = Math.max(peak, ++inFlight);
      await sleep(x);
      inFlight--;
      return x * 10;
    });
    expect(out).to.deep.equal([50, 10, 40, 20, 30, 0, 60]);
    expect(peak).to.equal(3);
    expect(await mapLimit([], 4, async (x: number) => x)).to.deep.equal([]);
  });

  it("test_classify_transientVsAnswer: classifies network failures as transient and reverts as answers", () => {
    expect(isTransient(new Error("connect ECONNREFUSED 127.0.0.1:8545"))).to.equal(true);
    expect(isTransient({ code: "TIMEOUT" })).to.equal(true);
    expect(isTransient({ code: "CALL_EXCEPTION", message: "execution reverted: timeout" })).to.equal(false);
    expect(ALREADY_DONE.has("NotLiquidatable")).to.equal(true);
    expect(ALREADY_DONE.has("StalePrice")).to.equal(false);
  });
});
