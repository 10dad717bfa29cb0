import { expect } from "chai";
import { loadKeel } from "../helpers/fixtures";

describe("deployKeel", () => {
  it("lists the four local assets with live prices", async () => {
    const keel = await loadKeel();
    for (const symbol of ["WETH", "WBTC", "USDC", "wstETH"]) {
      const { token } = keel.assets[symbol]!;
      const [, , listed] = await keel.engine.collateralConfig(await token.getAddress());
      expect(listed).to.equal(true);
    }
    expect(await keel.oracle.getPrice(await keel.assets.WETH!.token.getAddress())).to.equal(3000n * 10n ** 18n);
  });
});
