import { expect } from "chai";
import { ethers } from "hardhat";
import { Wallet } from "ethers";
import { TxSender, DEFAULT_SENDER } from "../../src/keeper/sender";
import { Rpc, sleep } from "../../src/keeper/rpc";
import { loadKeel } from "../helpers/fixtures";

describe("keeper: transaction sender", function () {
  this.timeout(120_000);

  it("test_send_pending_replacedWithBumpedFees: replaces a transaction that stays pending with bumped EIP-1559 fees; the replacement is what gets mined", async () => {
    const keel = await loadKeel();
    const [funder] = await ethers.getSigners();
    const wallet = new Wallet(Wallet.createRandom().privateKey, ethers.provider);
    await (await funder!.sendTransaction({ to: wallet.address, value: 10n ** 18n })).wait();
    const sender = new TxSender(new Rpc(ethers.provider, 31337), wallet, {
      ...DEFAULT_SENDER,
      bumpAfterMs: 300,
      pollMs: 50,
    });
    await ethers.provider.send("evm_setAutomine", [false]);
    try {
      const sending = sender.send({
        to: keel.vol.target as string,
        data: keel.vol.interface.encodeFunctionData("pokeAll"),
        kind: "pokeAll",
      });
      // Nothing is mined until the sender has replaced its transaction twice.
      while (sender.bumped < 2) await sleep(50);
      await ethers.provider.send("evm_mine", []);
      const outcome = await sending;
      expect(outcome.status).to.equal("mined");
      if (outcome.status !== "mined") return;
      const mined = await ethers.provider.getTransaction(outcome.hash);
      const block = await ethers.provider.getBlock(outcome.receipt.blockNumber);
      expect(block!.transactions).to.deep.equal([outcome.hash]); // one transaction for the nonce, not three
      expect(mined!.nonce).to.equal(0);
      // Two bumps of at least +15% each over the first fee.
      const fee = await ethers.provider.getFeeData();
      expect(mined!.maxPriorityFeePerGas! >= (((fee.maxPriorityFeePerGas! * 115n) / 100n) * 115n) / 100n).to.equal(true);
      expect([sender.sent, sender.bumped]).to.deep.equal([1, 2]);
    } finally {
      await ethers.provider.send("evm_setAutomine", [true]);
    }
  });

  it("test_send_simulatesFirst: simulates first: a transaction that would revert is never sent, and 'someone was first' counts as done", async () => {
    const keel = await loadKeel();
    const wallet = new Wallet(Wallet.createRandom().privateKey, ethers.provider);
    const sender = new TxSender(new Rpc(ethers.provider, 31337), wallet, DEFAULT_SENDER);
    const before = await ethers.provider.getBlockNumber();
    const notCallable = await sender.send({
      to: keel.engine.target as string,
      data: keel.engine.interface.encodeFunctionData("marginCall", [424242n]),
      kind: "marginCall",
    });
    expect(notCallable).to.deep.equal({ status: "alreadyDone", reason: "PositionNotFound(424242)" });
    const refused = await sender.send({
      to: keel.engine.target as string,
      data: keel.engine.interface.encodeFunctionData("setDust", [1n]),
      kind: "setDust",
    });
    expect(refused.status).to.equal("simulatedRevert");
    expect(await ethers.provider.getBlockNumber()).to.equal(before);
    expect(sender.sent).to.equal(0);
  });
});
